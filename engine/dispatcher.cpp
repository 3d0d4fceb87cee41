// Effectively-once dispatch: an action is claimed (done:<action_id>) before it is handed to a connector and its
// result recorded after, atomically with the outbox acknowledgement. A re-delivered action with a recorded result
// is skipped; one that was claimed but has no result (a crash during the send) is sent again, counted as
// `dispatch_reclaimed`: that is the only duplicate window, and connectors narrow it further by passing the
// action_id on as the provider's idempotency key (Message-ID for email).
//
// Suppression is checked here, just before the claim, so it wins over whatever workflow queued the action.
// Rendering happens here too, with the lead's attributes as they are at send time.

#include "engine/dispatcher.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <cmath>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/event.hpp"
#include "templates/mime.hpp"

namespace nurture::engine {

namespace {
constexpr int batch_size = 64;
constexpr std::chrono::seconds send_deadline{60};

// Waits for a connector's completion, which may come on another thread.
class PendingResult {
 public:
  sdk::Completion completion() {
    return [this](sdk::Result result) {
      std::lock_guard lock(mutex_);
      result_ = std::move(result);
      ready_.notify_all();
    };
  }
  sdk::Result wait(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    if (!ready_.wait_until(lock, deadline, [&] { return result_.has_value(); })) {
      return sdk::Result::retry(std::chrono::seconds(30), "the connector did not answer in time");
    }
    return *result_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::optional<sdk::Result> result_;
};
}  // namespace

std::chrono::milliseconds RetryPolicy::backoff(int attempt, std::chrono::milliseconds at_least) const {
  thread_local std::mt19937_64 random{std::random_device{}()};
  const std::chrono::milliseconds grown = first_backoff * (1LL << std::min(attempt - 1, 20));
  const auto ceiling = std::min(max_backoff, grown);
  std::uniform_int_distribution<long long> jitter(ceiling.count() / 2, ceiling.count());
  return std::max(at_least, std::chrono::milliseconds(jitter(random)));
}

int Dispatcher::poll() {
  const std::vector<OutboxEntry> entries = store_.read_outbox(batch_size);
  for (const auto& entry : entries) {
    try {
      dispatch(entry);
    } catch (const StoreUnavailable&) {
      throw;  // nothing recorded: the entry stays pending and comes back
    } catch (const std::exception& e) {
      spdlog::error("action {} failed in the engine: {}", entry.action.action_id, e.what());
      store_.record_dispatch(entry, DispatchOutcome::failed, std::string("engine error: ") + e.what());
    }
  }
  return static_cast<int>(entries.size());
}

void Dispatcher::dispatch(const OutboxEntry& entry) {
  const PlannedAction& planned = entry.action;
  if (planned.kind == "email" && store_.is_suppressed("email", planned.to)) {
    store_.record_dispatch(entry, DispatchOutcome::skipped, "suppressed");
    return;
  }
  switch (store_.claim(entry)) {
    case ClaimOutcome::already_done:
      store_.ack_outbox(entry);
      return;
    case ClaimOutcome::claimed_again:
      spdlog::warn("action {} was claimed by an attempt that did not finish; sending again",
                   planned.action_id);
      break;
    case ClaimOutcome::claimed:
      break;
  }

  sdk::Connector* connector = connectors_.find(planned.connector);
  if (!connector) {
    store_.record_dispatch(entry, DispatchOutcome::failed,
                           fmt::format("connector \"{}\" is not configured", planned.connector));
    return;
  }
  auto action = build_action(entry);
  if (!action) {
    store_.record_dispatch(entry, DispatchOutcome::failed, action.error());
    return;
  }
  PendingResult pending;
  connector->send(*action, pending.completion());
  settle(entry, pending.wait(std::chrono::steady_clock::now() + send_deadline));
}

tl::expected<sdk::Action, std::string> Dispatcher::build_action(const OutboxEntry& entry) const {
  const PlannedAction& planned = entry.action;
  const workflows::Config& config = campaign_.config;
  const TimePoint now = clock_.now();
  const LeadSnapshot lead = store_.load_lead(planned.lead);
  nlohmann::json attributes = lead.attrs;
  attributes["id"] = planned.lead;
  const std::string unsubscribe_url = fmt::format("{}/u/{}", config.tracking_base_url, planned.action_id);
  const nlohmann::json variables = {
      {"lead", attributes},
      {"score", std::lround(lead.score)},
      {"stage", lead.stage},
      {"workflow", planned.workflow},
      {"step", planned.step},
      {"sender",
       {{"from", config.sender.from},
        {"reply_to", config.sender.reply_to},
        {"postal_address", config.sender.postal_address}}},
      {"unsubscribe_url", unsubscribe_url},
      {"now", format_rfc3339(now)},
  };

  sdk::Action action;
  action.action_id = planned.action_id;
  action.lead_id = planned.lead;
  action.workflow = planned.workflow;
  action.step = planned.step;
  action.deadline = now + send_deadline;

  if (planned.kind == "post") {
    auto rendered = templates_.render_post(planned.template_name, variables);
    if (!rendered) return tl::unexpected(rendered.error().format());
    action.channel = sdk::Channel::social;
    action.post.text = rendered->text;
    action.post.visibility = rendered->visibility;
    return action;
  }
  if (planned.kind == "webhook" || planned.kind == "handoff") {
    // The body of spec/semantics.md "Webhook and handoff requests".
    nlohmann::ordered_json body;
    body["action_id"] = planned.action_id;
    body["kind"] = planned.kind;
    body["at"] = format_rfc3339(now);
    body["workflow"] = planned.workflow;
    body["step"] = planned.step;
    if (!planned.note.empty()) body["note"] = planned.note;
    body["lead"] = {{"id", planned.lead},
                    {"attrs", lead.attrs},
                    {"score", std::lround(lead.score)},
                    {"stage", lead.stage.empty() ? nlohmann::json(nullptr) : nlohmann::json(lead.stage)}};
    if (planned.kind == "handoff") {
      nlohmann::json recent = nlohmann::json::array();
      for (const auto& h : lead.history) {
        recent.push_back({{"type", h.type}, {"at", format_rfc3339(from_unix_ms(h.at_ms))}, {"props", h.props}});
      }
      body["recent"] = recent;
    }
    action.channel = sdk::Channel::webhook;
    action.json_body = body.dump();
    return action;
  }

  auto rendered = templates_.render_email(planned.template_name, variables);
  if (!rendered) return tl::unexpected(rendered.error().format());
  action.channel = sdk::Channel::email;
  action.email.from = config.sender.from;
  action.email.to = planned.to;
  action.email.subject = rendered->subject;
  action.email.text = rendered->text;
  action.email.html = rendered->html;
  templates::OutgoingEmail outgoing;
  outgoing.from = config.sender.from;
  outgoing.to = planned.to;
  outgoing.reply_to = config.sender.reply_to;
  outgoing.subject = rendered->subject;
  outgoing.text = rendered->text;
  outgoing.html = rendered->html;
  outgoing.message_id = planned.action_id + "@" + templates::address_domain(config.sender.from);
  outgoing.date = now;
  outgoing.list_unsubscribe_url = unsubscribe_url;
  outgoing.list_unsubscribe_mailto = config.sender.unsubscribe_mailto;
  action.email.mime = templates::compose_mime(outgoing);
  return action;
}

void Dispatcher::settle(const OutboxEntry& entry, const sdk::Result& result) {
  switch (result.kind) {
    case sdk::Result::Kind::sent:
      store_.record_dispatch(entry, DispatchOutcome::sent, result.provider_id);
      return;
    case sdk::Result::Kind::failed:
      spdlog::warn("action {} failed: {}", entry.action.action_id, result.reason);
      store_.record_dispatch(entry, DispatchOutcome::failed, result.reason);
      return;
    case sdk::Result::Kind::suppressed:
      store_.record_dispatch(entry, DispatchOutcome::suppressed, result.reason);
      return;
    case sdk::Result::Kind::retry:
      if (entry.attempt >= policy_.max_attempts) {
        store_.record_dispatch(entry, DispatchOutcome::failed,
                               fmt::format("gave up after {} attempts: {}", entry.attempt, result.reason));
        return;
      }
      const auto wait = policy_.backoff(entry.attempt, result.after);
      spdlog::info("action {} will be retried in {} ms: {}", entry.action.action_id, wait.count(), result.reason);
      store_.schedule_retry(entry, clock_.now() + wait, result.reason);
      return;
  }
}

}  // namespace nurture::engine
