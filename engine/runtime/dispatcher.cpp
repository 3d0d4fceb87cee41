// Effectively-once dispatch: an outbox entry belongs to the dispatcher the consumer group handed it to; an action
// is marked just before it is handed to a connector and its result recorded after, atomically with the outbox
// acknowledgement. A re-delivered action with a recorded result is skipped; one that was marked but has no result
// (a crash during the send) is sent again, counted as `dispatch_reclaimed`: that is the only duplicate window, and
// connectors narrow it further by passing the action_id on as the provider's idempotency key (Message-ID for email).
//
// Suppression is checked here, just before the claim, so it wins over whatever workflow queued the action.
// Rendering happens here too, with the lead's attributes as they are at send time.

#include "engine/runtime/dispatcher.hpp"

#include "engine/core/identity.hpp"

#include <condition_variable>
#include <set>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "text/address.hpp"
#include "text/json.hpp"
#include "text/utf8.hpp"
#include "engine/core/event.hpp"
#include "templates/mime.hpp"

namespace nurture::engine {

namespace {
constexpr int batch_size = 256;
constexpr std::size_t sending_group = 16;
constexpr std::chrono::milliseconds record_interval{50};

// Waits for a connector's completion, which may come on another thread, at any time: the completion owns the
// state it writes (a shared_ptr), so a connector answering after the dispatcher gave up writes into state that is
// still alive and that nobody reads any more. Ownership, not timing.
class PendingResult {
  struct State {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<sdk::Result> result;
  };

 public:
  sdk::Completion completion() {
    return [state = state_](sdk::Result result) {
      std::lock_guard lock(state->mutex);
      if (state->result) return;  // a second answer to one send changes nothing
      state->result = std::move(result);
      state->ready.notify_all();
    };
  }
  bool ready() {
    std::lock_guard lock(state_->mutex);
    return state_->result.has_value();
  }
  sdk::Result wait(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(state_->mutex);
    if (!state_->ready.wait_until(lock, deadline, [&] { return state_->result.has_value(); })) {
      return sdk::Result::retry(std::chrono::seconds(30), "the connector did not answer in time");
    }
    return *state_->result;
  }

 private:
  std::shared_ptr<State> state_ = std::make_shared<State>();
};
}  // namespace

std::chrono::milliseconds RetryPolicy::backoff(int attempt, std::chrono::milliseconds at_least) const {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::chrono::milliseconds grown = first_backoff * (1LL << std::min(attempt - 1, 20));
  const auto ceiling = std::min(max_backoff, grown);
  std::uniform_int_distribution<long long> jitter(ceiling.count() / 2, ceiling.count());
  return std::max(at_least, std::chrono::milliseconds(jitter(random)));
}

int Dispatcher::poll(std::chrono::milliseconds block) {
  const std::vector<OutboxEntry> entries = store_.read_outbox(batch_size, block);
  if (entries.empty()) return 0;
  try {
    dispatch(entries);
  } catch (const StoreUnavailable&) {
    store_.replay_pending();  // what was recorded is skipped when it comes again; the rest is sent then
    throw;
  }
  return static_cast<int>(entries.size());
}

// The sends of one batch in flight: results are recorded in batches, but at least every `record_interval` (the time
// between a provider's accept and our record is the duplicate window after a crash, so slow providers get theirs
// recorded promptly), and an instance at its concurrency limit waits for its oldest send first.
class Dispatcher::SendRound {
 public:
  explicit SendRound(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}

  std::vector<DispatchRecord> records;

  void send(const OutboxEntry& entry, const sdk::Action& action) {
    const std::string& connector = entry.action.connector;
    make_room(connector);
    auto pending = std::make_unique<PendingResult>();
    send_guarded(*dispatcher_.connectors_.find(connector), action, pending->completion());
    if (pending->ready()) {
      dispatcher_.settle(entry, pending->wait(std::chrono::steady_clock::now()), records);
      flush_if_due();
    } else {
      ++in_flight_per_connector_[connector];
      in_flight_.emplace_back(&entry, std::move(pending));
    }
  }

  // Waits for every send still in flight (each up to the policy's deadline) and records the rest.
  void finish() {
    const auto deadline = std::chrono::steady_clock::now() + dispatcher_.policy_.answer_within;
    for (std::size_t k = 0; k < in_flight_.size(); ++k) settle(k, deadline);
    dispatcher_.record(records);
  }

 private:
  void make_room(const std::string& connector) {
    const int limit = dispatcher_.connectors_.concurrency(connector);
    if (limit <= 0) return;
    for (std::size_t k = 0; k < in_flight_.size() && in_flight_per_connector_[connector] >= limit; ++k) {
      if (in_flight_[k].second && in_flight_[k].first->action.connector == connector) {
        settle(k, std::chrono::steady_clock::now() + dispatcher_.policy_.answer_within);
      }
    }
  }

  void settle(std::size_t k, std::chrono::steady_clock::time_point deadline) {
    auto& [entry, pending] = in_flight_[k];
    if (!pending) return;
    dispatcher_.settle(*entry, pending->wait(deadline), records);
    --in_flight_per_connector_[entry->action.connector];
    pending.reset();
    flush_if_due();
  }

  void flush_if_due() {
    if (std::chrono::steady_clock::now() - last_flush_ < record_interval) return;
    dispatcher_.record(records);
    records.clear();
    last_flush_ = std::chrono::steady_clock::now();
  }

  Dispatcher& dispatcher_;
  std::vector<std::pair<const OutboxEntry*, std::unique_ptr<PendingResult>>> in_flight_;  // settled: null
  std::map<std::string, int> in_flight_per_connector_;
  std::chrono::steady_clock::time_point last_flush_ = std::chrono::steady_clock::now();
};

void Dispatcher::dispatch(const std::vector<OutboxEntry>& entries) {
  SendRound round(*this);
  const std::vector<const OutboxEntry*> to_send = claim(entries, round.records);
  const std::vector<std::pair<const OutboxEntry*, sdk::Action>> ready =
      prepare(to_send, leads_as_planned(to_send), round.records);
  for (std::size_t i = 0; i < ready.size(); ++i) {
    // Sends are marked in small groups just before they are handed over: after a crash, only a marked action may
    // have reached its provider, so only those count as re-sent (`dispatch_reclaimed` measures the window).
    if (i % sending_group == 0) {
      std::vector<const OutboxEntry*> group;
      for (std::size_t k = i; k < std::min(ready.size(), i + sending_group); ++k) group.push_back(ready[k].first);
      store_.mark_sending(group);
    }
    round.send(*ready[i].first, ready[i].second);
  }
  round.finish();
}

std::vector<const OutboxEntry*> Dispatcher::claim(const std::vector<OutboxEntry>& entries,
                                                  std::vector<DispatchRecord>& records) {
  const std::vector<DispatchCheck> checks = store_.check_and_claim(entries);
  std::vector<const OutboxEntry*> to_send, held;
  const TimePoint now = clock_.now();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const OutboxEntry& entry = entries[i];
    if (checks[i].claim == ClaimOutcome::already_done) {
      store_.ack_outbox(entry);
      continue;
    }
    if (paused_ && paused_->contains(entry.action.workflow)) {
      held.push_back(&entry);  // sent when the workflow resumes (or skipped then, if later than max_late)
      continue;
    }
    if (checks[i].claim == ClaimOutcome::claimed_again) {
      spdlog::warn("action {} was claimed by an attempt that did not finish; sending again", entry.action.action_id);
    }
    if (checks[i].suppressed) {
      records.push_back({&entry, DispatchOutcome::skipped, "suppressed"});
    } else if (too_late(entry.action, now)) {
      records.push_back({&entry, DispatchOutcome::skipped, "late"});
    } else if (!connectors_.find(entry.action.connector)) {
      records.push_back({&entry, DispatchOutcome::failed,
                         fmt::format("connector \"{}\" is not configured", entry.action.connector)});
    } else {
      to_send.push_back(&entry);
    }
  }
  if (!held.empty()) store_.hold_actions(held);
  return to_send;
}

bool Dispatcher::too_late(const PlannedAction& action, TimePoint now) const {
  const auto limit = max_late_.find(action.workflow);
  if (limit == max_late_.end() || action.due_ms == 0) return false;
  return to_unix_ms(now) - action.due_ms > limit->second.count();
}

// Templates render from the lead as it was when the action was planned, carried in the entry; only a handoff,
// which sends recent activity too, reads the lead itself.
std::vector<LeadSnapshot> Dispatcher::leads_as_planned(const std::vector<const OutboxEntry*>& to_send) {
  std::vector<LeadSnapshot> snapshots(to_send.size());
  std::vector<std::string> leads;
  std::vector<std::size_t> loaded;
  for (std::size_t i = 0; i < to_send.size(); ++i) {
    const PlannedAction& planned = to_send[i]->action;
    if (is_scheduled_post(planned)) continue;  // written for no lead
    auto data = nlohmann::json::parse(planned.lead_data, nullptr, false);
    if (planned.kind != "handoff" && data.is_object()) {
      snapshots[i].id = planned.lead;
      auto attrs = data.find("a");
      snapshots[i].attrs = attrs != data.end() ? std::move(*attrs) : nlohmann::json::object();
      snapshots[i].score = data.value("s", 0.0);
      snapshots[i].stage = data.value("st", "");
    } else {
      leads.push_back(planned.lead);
      loaded.push_back(i);
    }
  }
  if (!leads.empty()) {
    auto read = store_.load_leads(leads);
    for (std::size_t k = 0; k < loaded.size(); ++k) snapshots[loaded[k]] = std::move(read[k]);
  }
  return snapshots;
}

// What the engine decides before a send: may the instance send now (rate, circuit breaker), and the message
// itself. A send held back is deferred (no attempt spent); one whose message cannot be built fails alone.
std::vector<std::pair<const OutboxEntry*, sdk::Action>> Dispatcher::prepare(
    const std::vector<const OutboxEntry*>& to_send, std::vector<LeadSnapshot> snapshots,
    std::vector<DispatchRecord>& records) {
  std::vector<std::pair<const OutboxEntry*, sdk::Action>> ready;
  for (std::size_t i = 0; i < to_send.size(); ++i) {
    const OutboxEntry& entry = *to_send[i];
    const std::string& connector = entry.action.connector;
    const Admission admission = connectors_.admit(connector, clock_.now());
    if (!admission.go) {
      if (metrics_) metrics_->connector_held(connector, admission.reason);
      store_.defer(entry, clock_.now() + admission.wait, admission.reason);
      continue;
    }
    tl::expected<sdk::Action, std::string> action = tl::unexpected(std::string());
    try {
      action = build_action(entry, std::move(snapshots[i]), connectors_.find(connector)->needs_mime());
    } catch (const std::exception& e) {  // whatever the lead's data holds, it fails this action only
      action = tl::unexpected(std::string("cannot build the message: ") + e.what());
    }
    if (!action) {
      records.push_back({&entry, DispatchOutcome::failed, action.error()});
      continue;
    }
    ready.emplace_back(&entry, std::move(*action));
  }
  return ready;
}

void Dispatcher::record(std::vector<DispatchRecord>& records) {
  static const char* names[] = {"sent", "failed", "suppressed", "skipped"};
  const TimePoint now = clock_.now();
  for (auto& r : records) {
    if (r.at == TimePoint{}) r.at = now;
    if (listens_) r.raise_event = listens_(raised_event_type(r.entry->action, r.outcome));
    if (is_scheduled_post(r.entry->action)) r.raise_event = false;  // no lead to raise it for
    // Mail servers' bounce reports (DSN) name only the Message-ID, hence the action; API providers echo the lead.
    if (r.outcome == DispatchOutcome::sent && r.entry->action.kind == "email") {
      const sdk::Connector* connector = connectors_.find(r.entry->action.connector);
      r.remember_lead = connector && connector->feedback_names_only_the_message();
    }
    if (metrics_) metrics_->action_result(names[static_cast<int>(r.outcome)], r.entry->action.connector);
  }
  store_.record_many(records);
  for (const auto& r : records) log_outcome(r);
}

// One line per outcome, once it is recorded: the action id says which (`nurture lead show` has the rest); the
// address only masked, so logs do not become a copy of the mailing list.
void Dispatcher::log_outcome(const DispatchRecord& record) {
  const PlannedAction& action = record.entry->action;
  const std::string to = action.to.empty() ? std::string() : " to=" + text::masked_address(action.to);
  const std::string detail = text::to_valid_utf8(text::truncate_utf8(record.detail, 300));
  switch (record.outcome) {
    case DispatchOutcome::sent:
      spdlog::info("sent action={} workflow={} step={} connector={}{} provider_id={}", action.action_id,
                   action.workflow, action.step, action.connector, to, detail);
      return;
    case DispatchOutcome::failed:
      spdlog::warn("failed action={} workflow={} step={} connector={}{} reason={}", action.action_id,
                   action.workflow, action.step, action.connector, to, detail);
      return;
    case DispatchOutcome::suppressed:
    case DispatchOutcome::skipped:
      spdlog::info("{} action={} workflow={} step={} connector={}{} reason={}", outcome_name(record.outcome),
                   action.action_id, action.workflow, action.step, action.connector, to, detail);
      return;
  }
}

nlohmann::json template_variables(const workflows::Config& config, const std::string& unsubscribe_url,
                                  const std::string& lead_id, nlohmann::json attrs, double score,
                                  const std::string& stage, const std::string& workflow, const std::string& step,
                                  TimePoint now) {
  // Built member by member: nlohmann's initializer lists copy every nested value, and this runs for every send.
  nlohmann::json variables = nlohmann::json::object();
  nlohmann::json& lead = variables["lead"] = attrs.is_object() ? std::move(attrs) : nlohmann::json::object();
  lead["id"] = lead_id;
  variables["score"] = std::lround(score);
  variables["stage"] = stage;
  variables["workflow"] = workflow;
  variables["step"] = step;
  nlohmann::json& sender = variables["sender"] = nlohmann::json::object();
  sender["from"] = config.sender.from;
  sender["reply_to"] = config.sender.reply_to;
  sender["postal_address"] = config.sender.postal_address;
  variables["unsubscribe_url"] = unsubscribe_url;
  variables["now"] = format_rfc3339(now);
  return variables;
}

templates::TrackingLinks tracking_links(const workflows::Config& config) {
  const char* secret = config.tracking_secret_env.empty() ? nullptr : std::getenv(config.tracking_secret_env.c_str());
  if (secret == nullptr || *secret == '\0') {
    static std::once_flag warned;
    std::call_once(warned, [&] {
      spdlog::warn("tracking links are signed with a development key: set {} to a long random secret in production",
                   config.tracking_secret_env.empty() ? std::string("tracking.secret_env") : config.tracking_secret_env);
    });
    return {config.tracking_base_url, "nurture-development-key"};
  }
  return {config.tracking_base_url, secret};
}

// What every action carries, then what its kind adds: a post, a request (webhook, handoff) or an email.
tl::expected<sdk::Action, std::string> Dispatcher::test_email(const std::string& template_name, const std::string& to,
                                                             const LeadSnapshot& lead, bool compose_mime) const {
  OutboxEntry entry;
  PlannedAction& planned = entry.action;
  // An id of its own, so that no provider or file connector takes it for a real send.
  planned.action_id = "test-" + action_id(lead.id, "send-test", 0, 0, template_name,
                                          static_cast<int>(to_unix_ms(clock_.now()) % 1000000007));
  planned.lead = lead.id;
  planned.workflow = "send-test";
  planned.step = template_name;
  planned.kind = "email";
  planned.to = to;
  planned.template_name = template_name;
  return build_action(entry, lead, compose_mime, true);
}

tl::expected<sdk::Action, std::string> Dispatcher::build_action(const OutboxEntry& entry, LeadSnapshot lead,
                                                               bool compose_mime, bool test) const {
  const PlannedAction& planned = entry.action;
  Rendering rendering;
  rendering.test = test;
  rendering.now = clock_.now();
  rendering.ref = templates::encode_ref({planned.action_id, planned.lead, planned.workflow, planned.step});
  rendering.unsubscribe_url = links_.unsubscribe_url(rendering.ref);
  // A post or a request reads the attributes again (their JSON); an email needs them only in the variables.
  const bool attrs_needed_later = planned.kind == "post" || planned.kind == "webhook" || planned.kind == "handoff";
  rendering.variables =
      template_variables(campaign_.config, rendering.unsubscribe_url, planned.lead,
                         attrs_needed_later ? lead.attrs : std::move(lead.attrs), lead.score, lead.stage,
                         planned.workflow, planned.step, rendering.now);
  sdk::Action action;
  action.action_id = planned.action_id;
  action.lead_id = planned.lead;
  action.workflow = planned.workflow;
  action.step = planned.step;
  // An I/O deadline for the connector, on the wall clock it can read (not the engine's Clock, which may be virtual).
  action.deadline = std::chrono::system_clock::now() + policy_.answer_within;
  if (planned.kind == "post") return with_post(std::move(action), planned, lead, rendering);
  if (planned.kind == "webhook" || planned.kind == "handoff") {
    return with_request(std::move(action), planned, lead, rendering);
  }
  return with_email(std::move(action), planned, rendering, compose_mime);
}

tl::expected<sdk::Action, std::string> Dispatcher::with_post(sdk::Action action, const PlannedAction& planned,
                                                            const LeadSnapshot& lead,
                                                            const Rendering& rendering) const {
  auto rendered = templates_.render_post(planned.template_name, rendering.variables);
  if (!rendered) return tl::unexpected(rendered.error().format());
  action.channel = sdk::Channel::social;
  action.post.text = rendered->text;
  action.post.visibility = rendered->visibility;
  action.post.scheduled_at = rendered->scheduled_at;
  action.lead_attrs = text::dump_json(lead.attrs);
  return action;
}

namespace {

// What made a handed-off lead qualify: each rule's points as earned (`score_breakdown`), and the events behind them
// with their props (a click's URL) beside the ones conditions remember (`recent`), oldest first.
void add_qualification(nlohmann::ordered_json& body, const LeadSnapshot& lead) {
  nlohmann::json breakdown = nlohmann::json::array();
  std::vector<std::pair<std::int64_t, nlohmann::json>> events;
  std::set<std::pair<std::string, std::int64_t>> listed;
  for (const auto& s : lead.score_log) {
    breakdown.push_back({{"rule", s.rule}, {"points", s.points}, {"at", format_rfc3339(from_unix_ms(s.at_ms))}});
    if (!s.event.empty() && listed.insert({s.event, s.at_ms}).second) {
      events.emplace_back(s.at_ms, nlohmann::json{{"type", s.event}, {"at", format_rfc3339(from_unix_ms(s.at_ms))},
                                                  {"props", s.props}});
    }
  }
  for (const auto& h : lead.history) {
    if (!listed.insert({h.type, h.at_ms}).second) continue;
    nlohmann::json event{{"type", h.type}, {"at", format_rfc3339(from_unix_ms(h.at_ms))}, {"props", h.props}};
    if (!h.workflow.empty()) event["workflow"] = h.workflow;
    if (!h.step.empty()) event["step"] = h.step;
    events.emplace_back(h.at_ms, std::move(event));
  }
  std::stable_sort(events.begin(), events.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json recent = nlohmann::json::array();
  for (auto& [at, event] : events) recent.push_back(std::move(event));
  body["score_breakdown"] = breakdown;
  body["recent"] = recent;
}

}  // namespace

// The body of a webhook or handoff request; a handoff carries why the lead qualified too.
tl::expected<sdk::Action, std::string> Dispatcher::with_request(sdk::Action action, const PlannedAction& planned,
                                                               const LeadSnapshot& lead,
                                                               const Rendering& rendering) const {
  nlohmann::ordered_json body;
  body["action_id"] = planned.action_id;
  body["kind"] = planned.kind;
  body["at"] = format_rfc3339(rendering.now);
  body["workflow"] = planned.workflow;
  body["step"] = planned.step;
  if (!planned.note.empty()) body["note"] = planned.note;
  body["lead"] = {{"id", planned.lead},
                  {"attrs", lead.attrs},
                  {"score", score_shown(lead.score)},
                  {"stage", lead.stage.empty() ? nlohmann::json(nullptr) : nlohmann::json(lead.stage)}};
  if (planned.kind == "handoff") add_qualification(body, lead);
  action.channel = sdk::Channel::webhook;
  action.json_body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  action.lead_attrs = text::dump_json(lead.attrs);
  if (!planned.template_name.empty()) {
    // Chat connectors (slack, discord) post this text; JSON connectors send the body.
    auto rendered = templates_.render_post(planned.template_name, rendering.variables);
    if (!rendered) return tl::unexpected(rendered.error().format());
    action.post.text = rendered->text;
  }
  return action;
}

tl::expected<sdk::Action, std::string> Dispatcher::with_email(sdk::Action action, const PlannedAction& planned,
                                                             const Rendering& rendering, bool compose_mime) const {
  const workflows::Config& config = campaign_.config;
  // The recipient is checked again where it leaves, whatever path it came by (event, import, `to:`).
  if (!templates::parse_mailbox(planned.to)) {
    return tl::unexpected(fmt::format("the recipient \"{}\" is not a mail address",
                                      text::to_valid_utf8(text::truncate_utf8(planned.to, 200))));
  }
  auto rendered = templates_.render_email(planned.template_name, rendering.variables);
  if (!rendered) return tl::unexpected(rendered.error().format());
  action.channel = sdk::Channel::email;
  action.email.from = config.sender.from;
  action.email.to = planned.to;
  action.email.subject = rendering.test ? "[TEST] " + rendered->subject : rendered->subject;
  action.email.text = std::move(rendered->text);
  action.email.html = templates::add_tracking(rendered->html, links_, rendering.ref, *rendered->link_hosts,
                                              config.tracking_allowed_hosts);
  const std::string message_id = planned.action_id + "@" + templates::address_domain(config.sender.from);
  action.email.reply_to = config.sender.reply_to;
  action.email.headers = {{"Message-ID", "<" + message_id + ">"}};
  if (rendering.test) action.email.headers.emplace_back("X-Nurture-Test", "yes");
  if (!rendering.unsubscribe_url.empty()) {
    std::string value = "<" + rendering.unsubscribe_url + ">";
    if (!config.sender.unsubscribe_mailto.empty()) value += ", <mailto:" + config.sender.unsubscribe_mailto + ">";
    action.email.headers.emplace_back("List-Unsubscribe", value);
    action.email.headers.emplace_back("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
  }
  if (!compose_mime) return action;  // API connectors take the parts
  templates::OutgoingEmail outgoing;
  outgoing.from = config.sender.from;
  outgoing.to = planned.to;
  outgoing.reply_to = config.sender.reply_to;
  outgoing.subject = action.email.subject;
  outgoing.text = action.email.text;
  outgoing.html = action.email.html;
  outgoing.message_id = message_id;
  outgoing.date = rendering.now;
  outgoing.list_unsubscribe_url = rendering.unsubscribe_url;
  outgoing.list_unsubscribe_mailto = config.sender.unsubscribe_mailto;
  outgoing.test = rendering.test;
  auto mime = templates::compose_mime(outgoing);
  if (!mime) return tl::unexpected(mime.error());
  action.email.mime = std::move(*mime);
  return action;
}

void Dispatcher::settle(const OutboxEntry& entry, const sdk::Result& result, std::vector<DispatchRecord>& records) {
  connectors_.report(entry.action.connector, result, clock_.now());
  switch (result.kind) {
    case sdk::Result::Kind::sent:
      records.push_back({&entry, DispatchOutcome::sent, result.provider_id});
      return;
    case sdk::Result::Kind::failed:
      records.push_back({&entry, DispatchOutcome::failed, result.reason});
      return;
    case sdk::Result::Kind::suppressed:
      records.push_back({&entry, DispatchOutcome::suppressed, result.reason});
      return;
    case sdk::Result::Kind::retry:
      if (const int limit = connectors_.max_attempts(entry.action.connector);
          entry.attempt >= (limit > 0 ? limit : policy_.max_attempts)) {
        records.push_back({&entry, DispatchOutcome::failed,
                           fmt::format("gave up after {} attempts: {}", entry.attempt, result.reason)});
        return;
      }
      const auto wait = policy_.backoff(entry.attempt, result.after);
      spdlog::info("action {} will be retried in {} ms: {}", entry.action.action_id, wait.count(), result.reason);
      if (metrics_) metrics_->action_result("retry", entry.action.connector);
      store_.schedule_retry(entry, clock_.now() + wait, result.reason);
      return;
  }
}

}  // namespace nurture::engine
