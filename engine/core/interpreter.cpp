// The per-lead state machine.
//
// An event is processed in five phases: (1) apply it to the lead (attributes, history, suppression, scoring, then
// a stage change, whose `lead.stage_changed` is processed at once as an event of its own); (2) check every active
// enrollment's exit_when; (3) resume enrollments waiting in wait_for on it; (4) let triggers enroll, workflows in
// id order; (5) run every resumed or new enrollment until it waits or ends. Events the run raises itself (a stage
// change from a `score`/`set` step, `lead.handed_off`) are processed after it, at the same instant, the same way.
//
// An enrollment that is not running is waiting on a timer (wait, wait_until, a send window) or on an event
// (wait_for, with a timeout timer). Every move bumps its seq, so a timer that fires for an older seq is a no-op.

#include "engine/core/interpreter.hpp"

#include "workflows/graph.hpp"

#include <cmath>
#include <deque>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <xxhash.h>

#include "engine/core/broadcast_plan.hpp"
#include "engine/core/calendar.hpp"
#include "engine/core/identity.hpp"
#include "text/json.hpp"

namespace nurture::engine {

namespace wf = workflows;

namespace {

constexpr std::size_t history_limit = 50;

// What an action carries of its lead for the dispatcher, as `{"a": attributes, "s": score, "st": stage}`: written
// piece by piece, not through a json object whose initializer list would copy every attribute twice first.
std::string lead_data_text(const LeadSnapshot& lead) {
  std::string data = R"({"a":)";
  data += text::dump_json(lead.attrs);
  data += R"(,"s":)";
  data += text::dump_json(lead.score);
  data += R"(,"st":)";
  data += text::dump_json(lead.stage);
  data += '}';
  return data;
}

// `props.amount` as cents: a number or a decimal text ("49.90"), at least 0 and below ten billion; else none.
std::optional<long> revenue_cents(const nlohmann::json& props) {
  const auto amount = props.find("amount");
  if (amount == props.end()) return std::nullopt;
  double value = 0;
  if (amount->is_number()) {
    value = amount->get<double>();
  } else if (amount->is_string()) {
    const auto parsed = nlohmann::json::parse(amount->get<std::string>(), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_number()) return std::nullopt;
    value = parsed.get<double>();
  } else {
    return std::nullopt;
  }
  if (!std::isfinite(value) || value < 0 || value >= 1e10) return std::nullopt;
  return std::lround(value * 100);
}

// `props.currency` as three upper-case letters (ISO 4217); `XXX` (no currency) when absent or not such a code.
std::string revenue_currency(const nlohmann::json& props) {
  const auto currency = props.find("currency");
  if (currency == props.end() || !currency->is_string()) return "XXX";
  std::string code = currency->get<std::string>();
  if (code.size() != 3) return "XXX";
  for (char& c : code) {
    if (!std::isalpha(static_cast<unsigned char>(c))) return "XXX";
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return code;
}
// Drops the oldest entries beyond the newest `limit`.
template <typename T>
void keep_last(std::vector<T>& entries, std::size_t limit) {
  if (entries.size() > limit) entries.erase(entries.begin(), entries.end() - static_cast<long>(limit));
}

constexpr std::size_t score_log_limit = 20;
constexpr std::size_t stage_history_limit = 10;
// An event's props kept in the score log only when small: the log lives in the lead's hash.
constexpr std::size_t score_log_props_bytes = 1024;
// A guard against a goto loop with no wait in it (validation refuses those; this keeps a bad model from hanging).
constexpr int max_steps_per_run = 1000;

void collect_remembered(const wf::Condition& condition, std::map<std::string, std::set<std::string>>& out);

void collect_term(const wf::ConditionTerm& term, std::map<std::string, std::set<std::string>>& out) {
  if (const auto* event = std::get_if<wf::EventTest>(&term)) {
    auto& props = out[event->type];
    for (const auto& test : event->where) props.insert(test.name);
  } else if (const auto* all = std::get_if<wf::AllOf>(&term)) {
    for (const auto& c : all->items) collect_remembered(c, out);
  } else if (const auto* any = std::get_if<wf::AnyOf>(&term)) {
    for (const auto& c : any->items) collect_remembered(c, out);
  } else if (const auto* negated = std::get_if<wf::NotOf>(&term)) {
    collect_remembered(*negated->item, out);
  }
}

void collect_remembered(const wf::Condition& condition, std::map<std::string, std::set<std::string>>& out) {
  for (const auto& term : condition.terms) collect_term(term, out);
}

const nlohmann::json missing_value;  // null: what an absent attribute or property compares as

// A reference, not a copy: conditions read attributes on every event and timer.
const nlohmann::json& attribute(const LeadSnapshot& lead, const std::string& name) {
  auto it = lead.attrs.find(name);
  return it == lead.attrs.end() ? missing_value : *it;
}

bool props_match(const std::vector<wf::PropTest>& where, const nlohmann::json& props) {
  for (const auto& test : where) {
    auto it = props.find(test.name);
    if (!test.comparison.holds(it == props.end() ? missing_value : *it)) return false;
  }
  return true;
}

std::string prop_text(const nlohmann::json& props, const char* name) {
  auto it = props.find(name);
  return it != props.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// Where a condition is evaluated: always a lead at an instant; inside a workflow also the enrollment, which is
// what `{event: T, step: S}` refers to.
struct ConditionContext {
  const LeadSnapshot& lead;
  TimePoint now;
  const wf::Campaign& campaign;  // its segments, for `segment:` tests
  const wf::Workflow* workflow = nullptr;
  const Enrollment* enrollment = nullptr;
};

bool holds(const wf::Condition& condition, const ConditionContext& context);

bool event_test_holds(const wf::EventTest& test, const ConditionContext& context) {
  const bool plain = !test.within && test.where.empty() && test.step.empty();
  if (plain && test.count) {
    auto it = context.lead.counts.find(test.type);
    return test.count->holds(it == context.lead.counts.end() ? 0L : it->second);
  }
  std::string step_action_id;
  if (!test.step.empty()) {
    if (!context.workflow || !context.enrollment) return false;
    auto index = context.workflow->step_index(test.step);
    if (!index) return false;
    step_action_id = action_id(context.lead.id, context.workflow->id, context.enrollment->version,
                               context.enrollment->number, test.step, context.enrollment->visit_of(*index));
  }
  const std::int64_t now_ms = to_unix_ms(context.now);
  long matches = 0;
  for (const auto& entry : context.lead.history) {
    if (entry.type != test.type) continue;
    if (test.within && entry.at_ms < now_ms - test.within->count()) continue;
    if (!props_match(test.where, entry.props)) continue;
    if (!test.step.empty()) {
      if (entry.workflow != context.workflow->id || entry.step != test.step) continue;
      const bool same_enrollment = entry.action_id.empty() ? entry.at_ms >= context.enrollment->entered_ms
                                                           : entry.action_id == step_action_id;
      if (!same_enrollment) continue;
    }
    ++matches;
  }
  return test.count ? test.count->holds(matches) : matches > 0;
}

bool term_holds(const wf::ConditionTerm& term, const ConditionContext& context) {
  struct Visitor {
    const ConditionContext& context;
    bool operator()(const wf::AttrTest& t) const { return t.comparison.holds(attribute(context.lead, t.name)); }
    bool operator()(const wf::ScoreTest& t) const { return t.comparison.holds(context.lead.score); }
    bool operator()(const wf::StageTest& t) const { return context.lead.stage == t.stage; }
    bool operator()(const wf::TagTest& t) const { return context.lead.tags.count(t.tag) > 0; }
    // A segment's condition holds for the lead now; it is the lead's, not a workflow's (no `step:` applies).
    bool operator()(const wf::SegmentTest& t) const {
      const wf::Segment* segment = context.campaign.segment(t.name);
      return segment && holds(segment->condition, {context.lead, context.now, context.campaign});
    }
    bool operator()(const wf::EventTest& t) const { return event_test_holds(t, context); }
    bool operator()(const wf::AllOf& t) const {
      return std::all_of(t.items.begin(), t.items.end(), [&](const wf::Condition& c) { return holds(c, context); });
    }
    bool operator()(const wf::AnyOf& t) const {
      return std::any_of(t.items.begin(), t.items.end(), [&](const wf::Condition& c) { return holds(c, context); });
    }
    bool operator()(const wf::NotOf& t) const { return !holds(*t.item, context); }
  };
  return std::visit(Visitor{context}, term);
}

bool holds(const wf::Condition& condition, const ConditionContext& context) {
  return std::all_of(condition.terms.begin(), condition.terms.end(),
                     [&](const wf::ConditionTerm& term) { return term_holds(term, context); });
}

// The state of one transition being computed: the lead as it evolves, and everything it has decided so far.
class Run {
 public:
  // The lead becomes the transition's: what the run changes is the state after.
  Run(const Interpreter& interpreter, LeadSnapshot&& lead, TimePoint now)
      : interpreter_(interpreter),
        campaign_(interpreter.campaign()),
        now_(now),
        due_ms_(to_unix_ms(now)),
        out_{lead.version, now, std::move(lead)},
        lines_(interpreter.timeline_sink() ? *interpreter.timeline_sink() : out_.timeline) {
    decay_score();
  }

  Transition finish() { return std::move(out_); }

  void process_event(const Event& event) {
    apply_to_lead(event);
    check_exits_on(event);
    std::vector<std::string> runnable = resume_waiting_for(event);
    for (const auto& id : enroll_by_trigger(event)) runnable.push_back(id);
    std::sort(runnable.begin(), runnable.end());
    for (const auto& id : runnable) {
      Enrollment& enrollment = lead().enrollments[id];
      const wf::Workflow* workflow = interpreter_.versions().find(id, enrollment.version);
      if (workflow) run(*workflow, enrollment, enrollment.step);
    }
    drain_raised_events();
  }

  void remove_from(const std::string& workflow_id) {
    auto it = lead().enrollments.find(workflow_id);
    if (it == lead().enrollments.end() || !it->second.active()) return;
    exit(workflow_id, it->second, "", "removed");  // whichever version it runs: leaving needs none
  }

  // One lead's send of a broadcast (with `variant` of its split, -1 for none): at most once per lead, only while it
  // is in the broadcast's segment, and like any send skipped when suppressed, without an address or over the
  // frequency cap.
  void send_broadcast(const wf::Broadcast& broadcast, int variant) {
    if (lead().broadcasts.count(broadcast.id)) return;
    TimelineEntry line;
    line.broadcast = broadcast.id;
    line.variant = variant;
    if (!lead().segments.count(broadcast.segment)) {
      line.kind = "skipped";
      line.mutable_detail().reason = "not_in_segment";  // it left the segment after the send was planned
      note_broadcast(std::move(line));
      return;
    }
    lead().broadcasts[broadcast.id] = variant;
    count(broadcast_workflow(broadcast.id), fmt::format(FMT_COMPILE("step:{}:reached"), broadcast.id));
    std::string reason, to;
    const std::string channel = std::holds_alternative<wf::PostStep>(broadcast.action) ? "social" : "email";
    if (const auto* email = std::get_if<wf::EmailStep>(&broadcast.action)) to = address_for(*email);
    if (!std::holds_alternative<wf::WebhookStep>(broadcast.action)) {
      if (lead().suppressed.count(channel)) reason = "suppressed";
      else if (channel == "email" && to.empty()) reason = "no_address";
      else if (!within_frequency_cap(channel)) reason = "frequency_cap";
    }
    if (!reason.empty()) {
      line.kind = "skipped";
      line.mutable_detail().reason = reason;
      note_broadcast(std::move(line));
      return;
    }
    PlannedAction action;
    action.action_id = broadcast_action_id(broadcast.id, lead().id);
    action.lead = lead().id;
    action.workflow = broadcast_workflow(broadcast.id);
    action.step = broadcast.id;
    action.kind = broadcast.kind();
    action.template_name = broadcast.template_for(variant);
    action.connector = std::visit([](const auto& a) { return a.connector; }, broadcast.action);
    action.to = to;
    action.due_ms = due_ms_;
    if (variant >= 0) action.arms = fmt::format(FMT_COMPILE("{}:{}"), broadcast.id, variant);
    if (interpreter_.plans_lead_data()) {
      action.lead_data = lead_data_text(lead());
    }
    if (campaign_.config.attribution_window && action.kind != "webhook") {
      lead().last_touch = LeadSnapshot::Touch{action.workflow, action.step, action.arms, to_unix_ms(now_)};
    }
    line.kind = "action";
    line.action = action.kind;
    line.connector = action.connector;
    line.template_name = action.template_name;
    out_.actions.push_back(std::move(action));
    note_broadcast(std::move(line));
  }

  void process_timer(const TimerRef& timer) {
    out_.timers_to_remove.push_back(timer);
    if (timer.due != TimePoint{} && timer.due < now_) due_ms_ = to_unix_ms(timer.due);  // fired late
    if (timer.workflow == segments_timer_workflow) {
      lead().segments_check_ms = 0;  // fired; update_segments() looks again and arms the next one
      return;
    }
    auto it = lead().enrollments.find(timer.workflow);
    if (it == lead().enrollments.end() || it->second.seq != timer.seq || !it->second.active()) {
      return;  // stale: removing it is all there is to do
    }
    const wf::Workflow* workflow = workflow_of(timer.workflow, it->second);
    if (!workflow || it->second.step >= workflow->steps.size()) return;  // its workflow is gone
    Enrollment& enrollment = it->second;
    enrollment.seq += 1;
    const wf::Step& step = workflow->steps[enrollment.step];
    std::optional<std::size_t> next;
    bool reached_already = false;
    switch (enrollment.status) {
      case EnrollmentStatus::deferred:  // the send window opened: run the delivery step itself
        next = enrollment.step;
        reached_already = true;  // counted when it arrived there and waited for the window
        break;
      case EnrollmentStatus::waiting_for: {
        const auto& wait_for = std::get<wf::WaitForStep>(step.action);
        next = wait_for.on_timeout.empty() ? workflow->next_after(enrollment.step)
                                           : workflow->step_index(wait_for.on_timeout);
        break;
      }
      default:
        next = workflow->next_after(enrollment.step);
    }
    if (next) {
      run(*workflow, enrollment, *next, reached_already);
    } else {
      complete(*workflow, enrollment);
    }
    drain_raised_events();
  }

 private:
  LeadSnapshot& lead() { return out_.lead; }

  // The workflow an active enrollment runs on: its pinned version, or the current one when the enrollment can move
  // there (the step it waits at exists in it, by id). Moving drops visit counts: they belong to the old step list.
  const wf::Workflow* workflow_of(const std::string& id, Enrollment& enrollment) {
    const WorkflowVersions& versions = interpreter_.versions();
    const wf::Workflow* pinned = versions.find(id, enrollment.version);
    const int current_version = versions.current(id);
    if (current_version == 0 || current_version == enrollment.version || !enrollment.active()) return pinned;
    const wf::Workflow* current = versions.find(id, current_version);
    if (!current) return pinned;
    if (pinned && enrollment.step < pinned->steps.size()) {
      if (auto index = current->step_index(pinned->steps[enrollment.step].id)) {
        enrollment.version = current_version;
        enrollment.step = *index;
        enrollment.visits.clear();
        enrollment.arms.clear();  // counted for the old version's splits no more
        return current;
      }
    }
    return pinned;
  }

  // An explanation line (simulate --explain): in the timeline, counted nowhere.
  void explain(TimelineEntry entry) {
    if (!interpreter_.explains()) return;
    entry.at = now_;
    entry.lead = lead().id;
    lines_.push_back(std::move(entry));
  }

  void explain_score(const std::string& rule, double points, const std::string& workflow = {}) {
    if (!interpreter_.explains()) return;  // the daemon's path builds no line
    TimelineEntry line;
    line.kind = "score";
    line.workflow = workflow;
    TimelineDetail& detail = line.mutable_detail();
    detail.rule = rule;
    detail.points = points;
    detail.total = lead().score;
    explain(std::move(line));
  }

  void explain_decision(const wf::Workflow& workflow, const wf::Step& step, const std::string& to,
                        std::string because) {
    if (!interpreter_.explains()) return;
    TimelineEntry line;
    line.kind = "decision";
    line.workflow = workflow.id;
    line.step = step.id;
    TimelineDetail& detail = line.mutable_detail();
    detail.to = to;
    detail.because = std::move(because);
    explain(std::move(line));
  }

  void note(TimelineEntry&& entry) {
    entry.at = now_;
    entry.lead = lead().id;
    if (!entry.workflow.empty()) {
      count(entry.workflow,
            entry.step.empty() ? entry.kind : fmt::format(FMT_COMPILE("step:{}:{}"), entry.step, entry.kind));
      if (const std::string& goal = entry.detail().goal; !goal.empty()) count(entry.workflow, "goal:" + goal);
    }
    lines_.push_back(std::move(entry));
  }

  // A broadcast's line: counted under its workflow id `~b:ID` as `step:ID:action|skipped`.
  void note_broadcast(TimelineEntry&& entry) {
    entry.at = now_;
    entry.lead = lead().id;
    count(broadcast_workflow(entry.broadcast), fmt::format(FMT_COMPILE("step:{}:{}"), entry.broadcast, entry.kind));
    if (entry.variant >= 0) {
      count(broadcast_workflow(entry.broadcast),
            fmt::format(FMT_COMPILE("split:{}:{}:{}"), entry.broadcast, entry.variant, entry.kind));
    }
    lines_.push_back(std::move(entry));
  }

  void count(const std::string& workflow, std::string field) { out_.counters.push_back({workflow, std::move(field)}); }

  void decay_score() {
    const std::int64_t now_ms = to_unix_ms(now_);
    const auto& half_life = campaign_.scoring.half_life;
    if (half_life && lead().score != 0 && now_ms > lead().score_at_ms) {
      const double elapsed = static_cast<double>(now_ms - lead().score_at_ms);
      lead().score *= std::exp2(-elapsed / static_cast<double>(half_life->count()));
    }
    lead().score_at_ms = now_ms;
  }

  // A lead's attributes stay within the per-event limit: one lead cannot grow without bound over many events.
  // Past it the event is refused whole (ingest dead-letters it with this reason) rather than half applied.
  void merge_attributes(const nlohmann::json& attrs) {
    std::size_t added = 0;
    for (const auto& [key, value] : attrs.items()) added += lead().attrs.contains(key) ? 0 : 1;
    if (lead().attrs.size() + added > EventLimits::max_attributes) {
      throw std::invalid_argument(fmt::format("the lead would have {} attributes, more than the limit of {}",
                                              lead().attrs.size() + added, EventLimits::max_attributes));
    }
    for (const auto& [key, value] : attrs.items()) lead().attrs[key] = value;
  }

  // Phase 1.
  void apply_to_lead(const Event& event) {
    merge_attributes(event.attrs);
    remember(event);
    if (event.type == "email.opened" || event.type == "email.clicked") {
      std::string workflow = prop_text(event.props, "workflow");
      std::string step = prop_text(event.props, "step");
      if (workflow.empty() && event.props.contains("broadcast")) {  // as people write it in simulate's events
        step = prop_text(event.props, "broadcast");
        workflow = broadcast_workflow(step);
      }
      if (const std::string broadcast = broadcast_of_workflow(workflow); !broadcast.empty()) {
        count_broadcast_engagement(broadcast, event.type == "email.opened" ? "opened" : "clicked");
      } else if (!workflow.empty() && !step.empty() && was_emailed_by(workflow, step)) {
        const char* field = event.type == "email.opened" ? "opened" : "clicked";
        count(workflow, fmt::format(FMT_COMPILE("step:{}:{}"), step, field));
        const auto enrollment = lead().enrollments.find(workflow);
        if (enrollment != lead().enrollments.end()) count_for_arms(workflow, enrollment->second, field);
      }
    }
    if (event.type == "lead.unsubscribed") {
      const std::string channel = prop_text(event.props, "channel");
      lead().suppressed.insert(channel.empty() ? "email" : channel);
      // The address too: mail already queued for it, and other leads sharing it, are stopped at dispatch.
      const auto email = lead().attrs.find("email");
      if ((channel.empty() || channel == "email") && email != lead().attrs.end() && email->is_string()) {
        out_.suppress.emplace_back("email", email->get<std::string>());
      }
    } else if (event.type == "email.bounced" || event.type == "email.complained") {
      lead().suppressed.insert("email");
    }
    attribute_revenue(event);
    for (const auto& rule : campaign_.scoring.rules) {
      if (!rule.event.empty() && rule.event == event.type && props_match(rule.where, event.props)) {
        lead().score += rule.points;
        log_score(rule, &event);
        explain_score(rule.name, rule.points);
      }
    }
    score_attribute_rules();
    move_stage_up(true);
  }

  // An open or click of a broadcast email counts only when the lead was given that broadcast: for it, and for the
  // variant it got.
  void count_broadcast_engagement(const std::string& broadcast, const char* field) {
    const auto given = lead().broadcasts.find(broadcast);
    if (given == lead().broadcasts.end()) return;
    const std::string workflow = broadcast_workflow(broadcast);
    count(workflow, fmt::format(FMT_COMPILE("step:{}:{}"), broadcast, field));
    if (given->second >= 0) {
      count(workflow, fmt::format(FMT_COMPILE("split:{}:{}:{}"), broadcast, given->second, field));
    }
  }

  // Opens and clicks count toward a step's rates only for an email step this lead's enrollment has passed (or sits
  // at after sending): an event naming a step it never reached, or one it waits at for the send window, is no
  // engagement with a sent email, and would inflate CTR.
  bool was_emailed_by(const std::string& workflow_id, const std::string& step_id) const {
    const auto it = out_.lead.enrollments.find(workflow_id);
    if (it == out_.lead.enrollments.end()) return false;
    const Enrollment& enrollment = it->second;
    const wf::Workflow* workflow = interpreter_.versions().find(workflow_id, enrollment.version);
    if (!workflow) return false;
    const auto index = workflow->step_index(step_id);
    if (!index || !std::holds_alternative<wf::EmailStep>(workflow->steps[*index].action)) return false;
    if (*index == enrollment.step && enrollment.status == EnrollmentStatus::deferred) return false;
    // A workflow with a way back keeps its visits; in one without, the steps before the current one were passed
    // (a branch may have skipped one: then an event naming it could only be forged, and it counts anyway).
    return workflow->may_revisit ? enrollment.visits.count(*index) > 0 : *index <= enrollment.step;
  }

  void remember(const Event& event) {
    const auto& remembered = interpreter_.remembered_events();
    auto it = remembered.find(event.type);
    if (it == remembered.end()) return;
    HistoryEntry entry;
    entry.type = event.type;
    entry.at_ms = to_unix_ms(event.at);
    entry.workflow = prop_text(event.props, "workflow");
    entry.step = prop_text(event.props, "step");
    entry.action_id = prop_text(event.props, "action_id");
    for (const auto& name : it->second) {
      if (auto prop = event.props.find(name); prop != event.props.end()) entry.props[name] = *prop;
    }
    // A remembered click keeps where it went: the hand-off shows sales what the lead looked at.
    if (const auto url = event.props.find("url");
        event.type == "email.clicked" && url != event.props.end() && url->is_string() && url->get_ref<const std::string&>().size() <= 512) {
      entry.props["url"] = *url;
    }
    auto& history = lead().history;
    history.push_back(std::move(entry));
    keep_last(history, history_limit);
    lead().counts[event.type] += 1;
  }

  // An event with `props.amount` (`deal.won`, `order.completed`) is revenue for the last email or post sent to the
  // lead within the attribution window: counted in cents per currency on its workflow, its step and the split arms
  // the lead had taken (`revenue:EUR`, `step:S:revenue:EUR`, `split:S:K:revenue:EUR`), with `orders:…` beside.
  void attribute_revenue(const Event& event) {
    const auto& window = campaign_.config.attribution_window;
    const auto& touch = lead().last_touch;
    if (!window || !touch) return;
    const auto cents = revenue_cents(event.props);
    if (!cents) return;
    if (to_unix_ms(now_) - touch->at_ms > window->count()) return;
    const std::string currency = revenue_currency(event.props);
    auto add = [&](const std::string& prefix) {
      out_.counters.push_back({touch->workflow, prefix + "revenue:" + currency, *cents});
      out_.counters.push_back({touch->workflow, prefix + "orders:" + currency, 1});
    };
    add("");
    add("step:" + touch->step + ":");
    if (interpreter_.explains()) {
      TimelineEntry line;
      line.kind = "revenue";
      line.workflow = touch->workflow;
      line.step = touch->step;
      TimelineDetail& detail = line.mutable_detail();
      detail.rule = currency;
      detail.points = static_cast<double>(*cents) / 100;
      explain(std::move(line));
    }
    for_each_arm(touch->arms, [&](std::string_view arm) { add(fmt::format(FMT_COMPILE("split:{}:"), arm)); });
  }

  void log_score(const wf::ScoreRule& rule, const Event* event) {
    ScoreEntry entry{rule.name, rule.points, to_unix_ms(now_), "", nlohmann::json::object()};
    if (event) {
      entry.event = event->type;
      entry.at_ms = to_unix_ms(event->at);
      if (event->props.dump().size() <= score_log_props_bytes) entry.props = event->props;
    }
    auto& log = lead().score_log;
    log.push_back(std::move(entry));
    keep_last(log, score_log_limit);
  }

  void score_attribute_rules() {
    for (const auto& rule : campaign_.scoring.rules) {
      if (rule.attr.empty() || lead().attr_rules_scored.count(rule.name)) continue;
      if (rule.test && rule.test->holds(attribute(lead(), rule.attr))) {
        lead().score += rule.points;
        lead().attr_rules_scored.insert(rule.name);
        log_score(rule, nullptr);
        explain_score(rule.name, rule.points);
      }
    }
  }

  // Moves the lead up to the last stage whose condition holds. `at_once`: process lead.stage_changed now (an
  // event's own phase 1); else queue it behind the current run (a score or set step).
  void move_stage_up(bool at_once) {
    const auto& stages = campaign_.scoring.stages;
    std::optional<std::size_t> target;
    const ConditionContext context{lead(), now_, campaign_};
    for (std::size_t i = 0; i < stages.size(); ++i) {
      if (holds(stages[i].condition, context)) target = i;
    }
    if (!target) return;
    const auto current = campaign_.scoring.stage_rank(lead().stage);
    if (current && *current >= *target) return;
    change_stage(stages[*target].name, at_once);
  }

  void change_stage(const std::string& to, bool at_once) {
    if (lead().stage == to) return;
    TimelineEntry line;
    line.kind = "stage";
    TimelineDetail& detail = line.mutable_detail();
    if (!lead().stage.empty()) detail.from = lead().stage;
    detail.to = to;
    detail.score = std::lround(lead().score);
    Event changed;
    changed.type = "lead.stage_changed";
    changed.lead = lead().id;
    changed.at = now_;
    // Built field by field: an initializer list copies every element once more.
    auto& props = changed.props.get_ref<nlohmann::json::object_t&>();
    props.emplace("from", detail.from ? nlohmann::json(*detail.from) : nlohmann::json(nullptr));
    props.emplace("to", to);
    props.emplace("score", detail.score);
    note(std::move(line));
    lead().stage = to;
    auto& history = lead().stage_history;
    history.emplace_back(to, to_unix_ms(now_));
    keep_last(history, stage_history_limit);
    if (at_once) {
      process_event(changed);
    } else {
      raised_.push_back(std::move(changed));
    }
  }

 public:
  // Membership of every segment, after everything else this transition did. Entering or leaving raises
  // `segment.entered` / `segment.left` (props.segment), processed at once like any event, which may in turn change
  // what holds (a workflow it starts sets an attribute, say): a few rounds, then it settles on the next change.
  void update_segments() {
    if (campaign_.segments.empty() && lead().segments.empty() && lead().segments_check_ms == 0) return;
    for (int round = 0; round < 4; ++round) {
      std::vector<Event> changes;
      for (const auto& segment : campaign_.segments) {
        const bool in = holds(segment.condition, {lead(), now_, campaign_});
        if (in == (lead().segments.count(segment.name) > 0)) continue;
        if (in) lead().segments.insert(segment.name);
        else lead().segments.erase(segment.name);
        Event change;
        change.type = in ? "segment.entered" : "segment.left";
        change.lead = lead().id;
        change.at = now_;
        change.props = {{"segment", segment.name}};
        changes.push_back(std::move(change));
      }
      // A segment no longer defined is forgotten without an event: nothing can listen for it any more.
      std::erase_if(lead().segments, [&](const std::string& name) { return !campaign_.segment(name); });
      if (changes.empty()) break;
      for (const auto& change : changes) process_event(change);
    }
    arm_segment_check();
  }

  // The next instant a `within` window of some segment's condition drops one of the lead's events: membership may
  // change then with no event at all, so a timer looks again.
  void arm_segment_check() {
    const std::int64_t now_ms = to_unix_ms(now_);
    std::optional<std::int64_t> next;
    for (const auto& segment : campaign_.segments) {
      wf::for_each_term(segment.condition, [&](const wf::ConditionTerm& term) {
        const auto* test = std::get_if<wf::EventTest>(&term);
        if (!test || !test->within) return;
        for (const auto& entry : lead().history) {
          // It counts up to and including at + within (event_test_holds), so it is gone 1 ms later.
          const std::int64_t expires = entry.at_ms + test->within->count() + 1;
          if (entry.type == test->type && expires > now_ms && (!next || expires < *next)) next = expires;
        }
      });
    }
    const TimerRef timer{lead().id, segments_timer_workflow, 0};
    if (next.value_or(0) == lead().segments_check_ms) return;
    if (next) {
      std::erase_if(out_.timers_to_remove, [&](const TimerRef& t) { return t.member() == timer.member(); });
      out_.timers_to_add.push_back({timer, from_unix_ms(*next)});  // one per lead: moves an earlier one
    } else {
      out_.timers_to_remove.push_back(timer);
    }
    lead().segments_check_ms = next.value_or(0);
  }

 private:

  void drain_raised_events() {
    while (!raised_.empty()) {
      Event event = std::move(raised_.front());
      raised_.pop_front();
      process_event(event);
    }
  }

  // Phase 2.
  void check_exits_on(const Event& event) {
    for (auto& [id, enrollment] : lead().enrollments) {
      if (!enrollment.active()) continue;
      const wf::Workflow* workflow = workflow_of(id, enrollment);
      if (!workflow) continue;
      for (const auto& rule : workflow->exit_when) {
        const bool by_event = !rule.event.empty() && rule.event == event.type;
        const bool by_condition =
            rule.condition && holds(*rule.condition, {lead(), now_, campaign_, workflow, &enrollment});
        if (by_event || by_condition) {
          exit(workflow->id, enrollment, rule.goal);
          break;
        }
      }
    }
  }

  // Phase 3: returns the workflows to run.
  std::vector<std::string> resume_waiting_for(const Event& event) {
    std::vector<std::string> resumed;
    for (auto& [id, enrollment] : lead().enrollments) {
      if (enrollment.status != EnrollmentStatus::waiting_for) continue;
      const wf::Workflow* workflow = workflow_of(id, enrollment);
      if (!workflow || enrollment.step >= workflow->steps.size()) continue;
      const auto* wait_for = std::get_if<wf::WaitForStep>(&workflow->steps[enrollment.step].action);
      if (!wait_for || wait_for->event != event.type || !props_match(wait_for->where, event.props)) continue;
      out_.timers_to_remove.push_back({lead().id, id, enrollment.seq});
      enrollment.seq += 1;
      auto next = workflow->next_after(enrollment.step);
      if (!next) {
        complete(*workflow, enrollment);
        continue;
      }
      enrollment.step = *next;
      enrollment.status = EnrollmentStatus::waiting;  // running, in fact: phase 5 takes it from here
      resumed.push_back(id);
    }
    return resumed;
  }

  // Phase 4: returns the workflows entered.
  std::vector<std::string> enroll_by_trigger(const Event& event) {
    std::vector<std::string> entered;
    for (const auto& listed : campaign_.workflows) {  // sorted by id
      const wf::Workflow* current = interpreter_.versions().current_workflow(listed.id);
      if (!current) continue;
      const wf::Workflow& workflow = *current;
      if (workflow.trigger.event != event.type || workflow.steps.empty()) continue;
      if (interpreter_.is_paused(workflow.id)) continue;  // a paused workflow enrolls no one
      auto existing = lead().enrollments.find(workflow.id);
      int number = 1;
      if (existing != lead().enrollments.end()) {
        const Enrollment& previous = existing->second;
        if (previous.active()) continue;  // a trigger that fires while enrolled is ignored
        switch (workflow.reentry.policy) {
          case wf::Reentry::Policy::never:
            continue;
          case wf::Reentry::Policy::after:
            if (to_unix_ms(now_) - previous.entered_ms < workflow.reentry.after.count()) continue;
            break;
          case wf::Reentry::Policy::always:
            break;
        }
        number = previous.number + 1;
      }
      if (workflow.trigger.when && !holds(*workflow.trigger.when, {lead(), now_, campaign_, &workflow, nullptr})) continue;
      Enrollment enrollment;
      enrollment.version = interpreter_.versions().current(workflow.id);
      enrollment.number = number;
      enrollment.entered_ms = to_unix_ms(now_);
      enrollment.seq = existing == lead().enrollments.end() ? 1 : existing->second.seq + 1;
      enrollment.step = 0;
      lead().enrollments[workflow.id] = enrollment;
      TimelineEntry line;
      line.workflow = workflow.id;
      line.kind = "entered";
      line.version = enrollment.version;
      note(std::move(line));
      entered.push_back(workflow.id);
    }
    return entered;
  }

  void exit(const std::string& workflow_id, Enrollment& enrollment, const std::string& goal,
            const char* reason = nullptr) {
    disarm(workflow_id, enrollment);
    enrollment.status = EnrollmentStatus::exited;
    TimelineEntry line;
    line.workflow = workflow_id;
    line.kind = "exited";
    TimelineDetail& detail = line.mutable_detail();
    detail.reason = reason ? reason : goal.empty() ? "condition" : "goal";
    detail.goal = goal;
    note(std::move(line));
    if (!goal.empty()) count_for_arms(workflow_id, enrollment, "goals");
  }


  void complete(const wf::Workflow& workflow, Enrollment& enrollment) {
    enrollment.status = EnrollmentStatus::completed;
    forget_visits_unless_needed(workflow, enrollment);
    TimelineEntry line;
    line.workflow = workflow.id;
    line.kind = "completed";
    note(std::move(line));
  }

  // A waiting enrollment that leaves: its timer goes (it would be a no-op anyway, but it costs memory).
  void disarm(const std::string& workflow_id, Enrollment& enrollment) {
    if (enrollment.status == EnrollmentStatus::waiting || enrollment.status == EnrollmentStatus::waiting_for ||
        enrollment.status == EnrollmentStatus::deferred) {
      out_.timers_to_remove.push_back({lead().id, workflow_id, enrollment.seq});
    }
    enrollment.seq += 1;
  }

  void arm(const wf::Workflow& workflow, Enrollment& enrollment, EnrollmentStatus status, TimePoint due) {
    enrollment.status = status;
    out_.timers_to_add.push_back({TimerRef{lead().id, workflow.id, enrollment.seq}, due});
    forget_visits_unless_needed(workflow, enrollment);
  }

  // In a workflow without a way back every step is reached at most once, so every visit is 1 and storing the
  // counts would only cost memory per waiting lead.
  static void forget_visits_unless_needed(const wf::Workflow& workflow, Enrollment& enrollment) {
    if (!workflow.may_revisit) enrollment.visits.clear();
  }

  std::string lead_zone(const wf::Workflow& workflow) const {
    const nlohmann::json& zone = attribute(out_.lead, "timezone");
    if (zone.is_string() && is_valid_timezone(zone.get_ref<const std::string&>())) return zone.get<std::string>();
    if (workflow.send_window && !workflow.send_window->fallback.empty()) return workflow.send_window->fallback;
    return campaign_.config.default_timezone.empty() ? "UTC" : campaign_.config.default_timezone;
  }

  std::string window_zone(const wf::Workflow& workflow) const {
    const auto& window = *workflow.send_window;
    return window.lead_timezone ? lead_zone(workflow) : window.timezone;
  }

  // Phase 5: runs from step `index` until a wait or the end, at this instant. A lead that waits at a delivery step
  // for the send window has reached it (the report counts it there); `reached_already` says so when it goes on.
  void run(const wf::Workflow& workflow, Enrollment& enrollment, std::size_t index, bool reached_already = false) {
    std::optional<std::size_t> current = index;
    for (int guard = 0; current && guard < max_steps_per_run; ++guard) {
      if (exits_before_step(workflow, enrollment)) return;
      const wf::Step& step = workflow.steps[*current];
      enrollment.step = *current;
      const bool counted = guard == 0 && reached_already;
      if (!counted) count(workflow.id, fmt::format(FMT_COMPILE("step:{}:reached"), step.id));
      if (step.is_delivery() && workflow.send_window &&
          !in_send_window(now_, *workflow.send_window, window_zone(workflow))) {
        const TimePoint opens = next_window_opening(now_, *workflow.send_window, window_zone(workflow));
        arm(workflow, enrollment, EnrollmentStatus::deferred, opens);
        TimelineEntry line;
        line.kind = "deferred";
        line.workflow = workflow.id;
        line.step = step.id;
        line.mutable_detail().until = opens;
        explain(std::move(line));
        return;
      }
      // Reaching a step again (a goto loop) is a new visit, hence a new action id for the same step.
      enrollment.visits[*current] += 1;
      auto next = execute(workflow, enrollment, step);
      if (!next) return;  // it waits, or it ended
      current = *next;
    }
    if (current) return;  // the guard tripped; the enrollment stays where it is
    complete(workflow, enrollment);
  }

  bool exits_before_step(const wf::Workflow& workflow, Enrollment& enrollment) {
    for (const auto& rule : workflow.exit_when) {
      if (rule.condition && holds(*rule.condition, {lead(), now_, campaign_, &workflow, &enrollment})) {
        exit(workflow.id, enrollment, rule.goal);
        return true;
      }
    }
    return false;
  }

  // Outer optional: nullopt = stop running (waiting or ended). Inner: the next step, or nullopt to complete.
  std::optional<std::optional<std::size_t>> execute(const wf::Workflow& workflow, Enrollment& enrollment,
                                                    const wf::Step& step) {
    const std::size_t index = enrollment.step;
    const auto then = [&]() -> std::optional<std::optional<std::size_t>> {
      auto next = workflow.next_after(index);
      if (!next) {
        complete(workflow, enrollment);
        return std::nullopt;
      }
      return next;
    };
    const auto go_to = [&](const std::string& target) -> std::optional<std::optional<std::size_t>> {
      return std::optional<std::size_t>(workflow.step_index(target));
    };
    const auto fall_through = [&]() -> std::optional<std::optional<std::size_t>> {
      if (index + 1 < workflow.steps.size()) return std::optional<std::size_t>(index + 1);
      complete(workflow, enrollment);
      return std::nullopt;
    };

    if (const auto* email = std::get_if<wf::EmailStep>(&step.action)) {
      deliver_email(workflow, enrollment, step, *email);
      return then();
    }
    if (const auto* post = std::get_if<wf::PostStep>(&step.action)) {
      if (lead().suppressed.count("social")) {
        skip(workflow, step, "suppressed");
      } else if (!within_frequency_cap("social")) {
        skip(workflow, step, "frequency_cap");
      } else {
        plan(workflow, enrollment, step, "post", post->connector, post->template_name, {}, {});
      }
      return then();
    }
    if (const auto* webhook = std::get_if<wf::WebhookStep>(&step.action)) {
      plan(workflow, enrollment, step, "webhook", webhook->connector, webhook->template_name, {}, {});
      return then();
    }
    if (const auto* handoff = std::get_if<wf::HandoffStep>(&step.action)) {
      plan(workflow, enrollment, step, "handoff", handoff->connector, {}, {}, handoff->note);
      Event handed_off;
      handed_off.type = "lead.handed_off";
      handed_off.lead = lead().id;
      handed_off.at = now_;
      handed_off.props = {{"workflow", workflow.id}, {"connector", handoff->connector}};
      raised_.push_back(std::move(handed_off));
      return then();
    }
    if (const auto* wait = std::get_if<wf::WaitStep>(&step.action)) {
      arm(workflow, enrollment, EnrollmentStatus::waiting, now_ + wait->duration);
      return std::nullopt;
    }
    if (const auto* until = std::get_if<wf::WaitUntilStep>(&step.action)) {
      std::optional<TimePoint> due;
      if (until->at_minute) {
        due = next_time_of_day(now_, *until->at_minute, until->days, lead_zone(workflow));
      } else {
        const nlohmann::json& value = attribute(lead(), until->attr);
        if (value.is_string()) {
          if (auto date = parse_date_attribute(value.get<std::string>(), lead_zone(workflow))) {
            due = *date + until->offset;
          }
        }
      }
      if (!due || *due <= now_) return then();  // already past, or no date to wait for
      arm(workflow, enrollment, EnrollmentStatus::waiting, *due);
      return std::nullopt;
    }
    if (const auto* wait_for = std::get_if<wf::WaitForStep>(&step.action)) {
      arm(workflow, enrollment, EnrollmentStatus::waiting_for, now_ + wait_for->timeout);
      return std::nullopt;
    }
    if (const auto* branch = std::get_if<wf::BranchStep>(&step.action)) {
      for (const auto& branch_case : branch->cases) {
        if (holds(branch_case.condition, {lead(), now_, campaign_, &workflow, &enrollment})) {
          if (interpreter_.explains()) {
            explain_decision(workflow, step, branch_case.target, wf::describe(branch_case.condition));
          }
          return go_to(branch_case.target);
        }
      }
      if (!branch->else_target.empty()) {
        if (interpreter_.explains()) explain_decision(workflow, step, branch->else_target, "else: no case held");
        return go_to(branch->else_target);
      }
      if (interpreter_.explains()) {
        explain_decision(workflow, step, index + 1 < workflow.steps.size() ? workflow.steps[index + 1].id : "(the end)",
                         "no case held and no else: the next step");
      }
      return fall_through();
    }
    if (const auto* split = std::get_if<wf::SplitStep>(&step.action)) {
      const std::size_t arm = split_arm(workflow, step, *split);
      enrollment.arms[step.id] = static_cast<int>(arm);
      count(workflow.id, fmt::format(FMT_COMPILE("split:{}:{}:entered"), step.id, arm));
      if (interpreter_.explains()) {
        long total = 0;
        for (const auto& each : split->arms) total += each.weight;
        explain_decision(workflow, step, split->arms[arm].target,
                         fmt::format("split arm {} (weight {} of {}, by the lead's hash)", arm + 1,
                                     split->arms[arm].weight, total));
      }
      return go_to(split->arms[arm].target);
    }
    if (const auto* score = std::get_if<wf::ScoreStep>(&step.action)) {
      lead().score += score->points;
      explain_score("step:" + step.id, score->points, workflow.id);
      move_stage_up(false);
      return then();
    }
    if (const auto* set = std::get_if<wf::SetStep>(&step.action)) {
      for (const auto& [name, value] : set->attrs) lead().attrs[name] = value;
      for (const auto& tag : set->tags) lead().tags.insert(tag);
      if (set->stage) change_stage(*set->stage, false);
      return then();
    }
    if (const auto* exit_step = std::get_if<wf::ExitStep>(&step.action)) {
      if (exit_step->goal.empty()) {
        complete(workflow, enrollment);
      } else {
        exit(workflow.id, enrollment, exit_step->goal);
      }
      return std::nullopt;
    }
    return then();
  }

  // The index of the arm this lead takes (semantics: the first whose cumulative weight exceeds its bucket).
  std::size_t split_arm(const wf::Workflow& workflow, const wf::Step& step, const wf::SplitStep& split) const {
    long total = 0;
    for (const auto& arm : split.arms) total += arm.weight;
    const std::string seed = fmt::format(FMT_COMPILE("{}\x1f{}\x1f{}"), out_.lead.id, workflow.id, step.id);
    const long bucket = static_cast<long>(XXH64(seed.data(), seed.size(), 0) % static_cast<unsigned long long>(total));
    long cumulative = 0;
    for (std::size_t k = 0; k < split.arms.size(); ++k) {
      cumulative += split.arms[k].weight;
      if (cumulative > bucket) return k;
    }
    return split.arms.size() - 1;
  }

  // What happens after a split counts for the arm taken too: `split:STEP:ARM:FIELD`.
  void count_for_arms(const std::string& workflow, const Enrollment& enrollment, const char* field) {
    for (const auto& [split, arm] : enrollment.arms) {
      count(workflow, fmt::format(FMT_COMPILE("split:{}:{}:{}"), split, arm, field));
    }
  }

  void deliver_email(const wf::Workflow& workflow, Enrollment& enrollment, const wf::Step& step,
                     const wf::EmailStep& email) {
    const std::string to = address_for(email);
    if (lead().suppressed.count("email")) {
      skip(workflow, step, "suppressed");
    } else if (to.empty()) {
      skip(workflow, step, "no_address");
    } else if (!within_frequency_cap("email")) {
      skip(workflow, step, "frequency_cap");
    } else {
      plan(workflow, enrollment, step, "email", email.connector, email.template_name, to, {});
    }
  }

  // Where an email goes: the lead's `email` attribute, the attribute `to: attr.X` names, or `to` itself.
  std::string address_for(const wf::EmailStep& email) {
    if (!email.to.empty() && email.to.rfind("attr.", 0) != 0) return email.to;
    const nlohmann::json& value = attribute(lead(), email.to.empty() ? "email" : email.to.substr(5));
    return value.is_string() ? value.get<std::string>() : std::string();
  }

  // Config `frequency_cap`, across all workflows: false when the channel already had `max` sends in the last `per`
  // (the send is then skipped); else this send is counted. Only sends within the window are kept on the lead.
  bool within_frequency_cap(const std::string& channel) {
    const auto cap = campaign_.config.frequency_caps.find(channel);
    if (cap == campaign_.config.frequency_caps.end()) return true;
    const std::int64_t now_ms = to_unix_ms(now_);
    auto& times = lead().recent_sends_ms[channel];
    std::erase_if(times, [&](std::int64_t at) { return at <= now_ms - cap->second.per.count(); });
    if (static_cast<int>(times.size()) >= cap->second.max) return false;
    times.push_back(now_ms);
    return true;
  }

  void skip(const wf::Workflow& workflow, const wf::Step& step, const std::string& reason) {
    TimelineEntry line;
    line.workflow = workflow.id;
    line.kind = "skipped";
    line.step = step.id;
    line.mutable_detail().reason = reason;
    note(std::move(line));
  }

  void plan(const wf::Workflow& workflow, const Enrollment& enrollment, const wf::Step& step, const std::string& kind,
            const std::string& connector, const std::string& template_name, const std::string& to,
            const std::string& note_text) {
    PlannedAction action;
    action.action_id = action_id(lead().id, workflow.id, enrollment.version, enrollment.number, step.id,
                                 enrollment.visit_of(enrollment.step));
    action.lead = lead().id;
    action.workflow = workflow.id;
    action.version = enrollment.version;
    action.step = step.id;
    action.kind = kind;
    action.template_name = template_name;
    action.connector = connector;
    action.to = to;
    action.note = note_text;
    action.due_ms = due_ms_;
    action.arms = enrollment.arms_text();
    if (interpreter_.plans_lead_data()) {
      action.lead_data = lead_data_text(lead());
    }
    if (campaign_.config.attribution_window && (kind == "email" || kind == "post")) {
      lead().last_touch = LeadSnapshot::Touch{workflow.id, step.id, action.arms, to_unix_ms(now_)};
    }
    out_.actions.push_back(std::move(action));
    TimelineEntry line;
    line.workflow = workflow.id;
    line.kind = "action";
    line.step = step.id;
    line.action = kind;
    line.connector = connector;
    line.template_name = template_name;
    note(std::move(line));
  }

  const Interpreter& interpreter_;
  const wf::Campaign& campaign_;
  TimePoint now_;
  std::int64_t due_ms_;  // when what runs now was due: a late timer's due time, else now
  Transition out_;
  std::vector<TimelineEntry>& lines_;  // out_.timeline, or the interpreter's sink
  std::deque<Event> raised_;
};

}  // namespace

std::string TimerRef::member() const { return fmt::format(FMT_COMPILE("{}\x1f{}\x1f{}"), lead, workflow, seq); }

std::optional<TimerRef> TimerRef::parse(const std::string& member) {
  const auto first = member.find('\x1f');
  const auto second = first == std::string::npos ? std::string::npos : member.find('\x1f', first + 1);
  if (second == std::string::npos) return std::nullopt;
  TimerRef timer{member.substr(0, first), member.substr(first + 1, second - first - 1), 0};
  try {
    timer.seq = std::stoull(member.substr(second + 1));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  return timer;
}

Interpreter::Interpreter(const wf::Campaign& campaign)
    : Interpreter(campaign, WorkflowVersions::of(campaign.workflows)) {}

Interpreter::Interpreter(const wf::Campaign& campaign, WorkflowVersions versions)
    : campaign_(campaign), versions_(std::move(versions)) {
  for (const wf::Workflow* pointer : versions_.all()) {
    const wf::Workflow& workflow = *pointer;
    if (workflow.trigger.when) collect_remembered(*workflow.trigger.when, remembered_);
    for (const auto& rule : workflow.exit_when) {
      if (rule.condition) collect_remembered(*rule.condition, remembered_);
    }
    for (const auto& step : workflow.steps) {
      if (const auto* branch = std::get_if<wf::BranchStep>(&step.action)) {
        for (const auto& c : branch->cases) collect_remembered(c.condition, remembered_);
      }
    }
  }
  for (const auto& stage : campaign.scoring.stages) collect_remembered(stage.condition, remembered_);
  for (const auto& segment : campaign.segments) collect_remembered(segment.condition, remembered_);

  relevant_types_ = {"lead.unsubscribed", "email.bounced", "email.complained", "email.opened", "email.clicked",
                     "lead.stage_changed", "lead.handed_off"};
  for (const auto& [type, props] : remembered_) relevant_types_.insert(type);
  for (const wf::Workflow* pointer : versions_.all()) {
    const wf::Workflow& workflow = *pointer;
    relevant_types_.insert(workflow.trigger.event);
    for (const auto& rule : workflow.exit_when) {
      if (!rule.event.empty()) relevant_types_.insert(rule.event);
      if (rule.condition) relevant_types_.insert("*");  // checked on every event
    }
    for (const auto& step : workflow.steps) {
      if (const auto* wait_for = std::get_if<wf::WaitForStep>(&step.action)) relevant_types_.insert(wait_for->event);
    }
  }
  for (const auto& rule : campaign.scoring.rules) {
    if (!rule.event.empty()) relevant_types_.insert(rule.event);
  }
}

bool Interpreter::is_relevant(const Event& event) const {
  // Revenue to attribute counts whatever its type: `deal.won`, `order.completed`, a type of the producer's own.
  const bool revenue = campaign_.config.attribution_window && event.props.contains("amount");
  return !event.attrs.empty() || revenue || listens_to(event.type);
}

bool Interpreter::listens_to(const std::string& type) const {
  return relevant_types_.count(type) || relevant_types_.count("*");
}

Transition Interpreter::apply_event(const LeadSnapshot& lead, const Event& event, TimePoint now) const {
  return apply_event(LeadSnapshot(lead), event, now);
}

Transition Interpreter::apply_event(LeadSnapshot&& lead, const Event& event, TimePoint now) const {
  Run run(*this, std::move(lead), now);
  run.process_event(event);
  run.update_segments();
  return run.finish();
}

Transition Interpreter::send_broadcast(const LeadSnapshot& lead, const wf::Broadcast& broadcast, int variant,
                                       TimePoint now) const {
  Run run(*this, LeadSnapshot(lead), now);
  run.update_segments();  // membership as of now: a `within` window may have closed since the last change
  run.send_broadcast(broadcast, variant);
  return run.finish();
}

Transition Interpreter::reevaluate_segments(const LeadSnapshot& lead, TimePoint now) const {
  Run run(*this, LeadSnapshot(lead), now);
  run.update_segments();
  return run.finish();
}

Transition Interpreter::remove_from(const LeadSnapshot& lead, const std::string& workflow, TimePoint now) const {
  Run run(*this, LeadSnapshot(lead), now);
  run.remove_from(workflow);
  return run.finish();
}

Transition Interpreter::fire_timer(const LeadSnapshot& lead, const TimerRef& timer, TimePoint now) const {
  return fire_timer(LeadSnapshot(lead), timer, now);
}

Transition Interpreter::fire_timer(LeadSnapshot&& lead, const TimerRef& timer, TimePoint now) const {
  Run run(*this, std::move(lead), now);
  run.process_timer(timer);
  run.update_segments();
  return run.finish();
}

}  // namespace nurture::engine
