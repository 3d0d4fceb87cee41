// The per-lead state machine. An enrollment is either waiting (on a timer for its current step) or finished.
// Running an enrollment walks its steps at one instant: actions go to the outbox, a `wait` arms a timer at
// now + duration and stops; falling off the end completes it. Steps that are not waits take no time.

#include "engine/interpreter.hpp"

#include <fmt/format.h>

#include "engine/identity.hpp"

namespace nurture::engine {

namespace {

// A guard against a goto loop with no wait in it (validation refuses those; this keeps a bad model from hanging).
constexpr int max_steps_per_run = 1000;

std::string attribute_text(const nlohmann::json& attrs, const std::string& name) {
  auto it = attrs.find(name);
  if (it == attrs.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

// `to:` is an address, or `attr.NAME` naming the attribute that holds one; by default `attr.email`.
std::string recipient(const workflows::EmailStep& email, const nlohmann::json& attrs) {
  if (email.to.empty()) return attribute_text(attrs, "email");
  if (email.to.rfind("attr.", 0) == 0) return attribute_text(attrs, email.to.substr(5));
  return email.to;
}

// In a workflow without a way back every step is reached at most once, so every visit is 1 and storing the
// counts would only cost memory per waiting lead.
void forget_visits_unless_needed(const workflows::Workflow& workflow, Enrollment& enrollment) {
  if (!workflow.may_revisit()) enrollment.visits.clear();
}

}  // namespace

std::string TimerRef::member() const { return fmt::format("{}\x1f{}\x1f{}", lead, workflow, seq); }

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

void Interpreter::run_from(const workflows::Workflow& workflow, const nlohmann::json& attrs, Enrollment& enrollment,
                           std::size_t step_index, TimePoint now, const std::string& lead, Transition& out) const {
  std::optional<std::size_t> current = step_index;
  for (int guard = 0; current && guard < max_steps_per_run; ++guard) {
    const workflows::Step& step = workflow.steps[*current];
    enrollment.step = *current;
    // Reaching a step again (a goto loop) is a new visit, hence a new action id for the same step.
    const int visit = ++enrollment.visits[*current];
    if (const auto* email = std::get_if<workflows::EmailStep>(&step.action)) {
      const std::string to = recipient(*email, attrs);
      if (to.empty()) {
        out.timeline.push_back({now, lead, workflow.id, "skipped", step.id, "no_address"});
      } else {
        PlannedAction action;
        action.action_id = action_id(lead, workflow.id, enrollment.version, enrollment.number, step.id, visit);
        action.lead = lead;
        action.workflow = workflow.id;
        action.version = enrollment.version;
        action.step = step.id;
        action.kind = "email";
        action.template_name = email->template_name;
        action.connector = email->connector;
        action.to = to;
        out.actions.push_back(std::move(action));
        out.timeline.push_back({now, lead, workflow.id, "action", step.id, {}});
      }
      current = workflow.next_after(*current);
    } else if (const auto* wait = std::get_if<workflows::WaitStep>(&step.action)) {
      enrollment.status = EnrollmentStatus::waiting;
      out.timers_to_add.push_back({TimerRef{lead, workflow.id, enrollment.seq}, now + wait->duration});
      return;
    }
  }
  enrollment.status = EnrollmentStatus::completed;
  out.timeline.push_back({now, lead, workflow.id, "completed", {}, {}});
}

Transition Interpreter::apply_event(const LeadSnapshot& lead, const Event& event, TimePoint now) const {
  Transition out;
  out.lead = lead.id;
  nlohmann::json attrs = lead.attrs;
  for (const auto& [key, value] : event.attrs.items()) {
    if (!attrs.contains(key) || attrs[key] != value) out.attr_updates[key] = value;
    attrs[key] = value;
  }
  for (const auto& workflow : campaign_.workflows) {  // sorted by id: triggers enroll in id order
    if (workflow.trigger.event != event.type) continue;
    // reentry: never (the only policy of this version): a lead enrolls in a workflow once ever.
    if (lead.enrollments.count(workflow.id)) continue;
    Enrollment enrollment;
    enrollment.version = 1;
    enrollment.number = 1;
    enrollment.entered_ms = to_unix_ms(now);
    enrollment.seq = 1;
    out.timeline.push_back({now, lead.id, workflow.id, "entered", {}, {}});
    run_from(workflow, attrs, enrollment, 0, now, lead.id, out);
    forget_visits_unless_needed(workflow, enrollment);
    out.enrollments.push_back({workflow.id, std::nullopt, enrollment});
  }
  return out;
}

Transition Interpreter::fire_timer(const LeadSnapshot& lead, const TimerRef& timer, TimePoint now) const {
  Transition out;
  out.lead = lead.id;
  out.timers_to_remove.push_back(timer);
  auto it = lead.enrollments.find(timer.workflow);
  const workflows::Workflow* workflow = campaign_.workflow(timer.workflow);
  if (it == lead.enrollments.end() || !workflow || it->second.seq != timer.seq ||
      it->second.status != EnrollmentStatus::waiting || it->second.step >= workflow->steps.size()) {
    return out;  // stale or orphaned: removing it is all there is to do
  }
  Enrollment enrollment = it->second;
  const std::string before = enrollment.pack();
  enrollment.seq += 1;
  auto next = workflow->next_after(enrollment.step);
  if (next) {
    run_from(*workflow, lead.attrs, enrollment, *next, now, lead.id, out);
  } else {
    enrollment.status = EnrollmentStatus::completed;
    out.timeline.push_back({now, lead.id, workflow->id, "completed", {}, {}});
  }
  forget_visits_unless_needed(*workflow, enrollment);
  out.enrollments.push_back({workflow->id, before, enrollment});
  return out;
}

}  // namespace nurture::engine
