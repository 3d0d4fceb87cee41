#include "engine/store/store.hpp"

#include <algorithm>
#include <chrono>

#include <fmt/chrono.h>
#include <fmt/compile.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nurture::engine {

std::string raised_event_type(const PlannedAction& action, DispatchOutcome outcome) {
  if (outcome == DispatchOutcome::failed) return "action.failed";
  if (outcome != DispatchOutcome::sent) return {};
  return action.kind == "email" ? "email.sent" : action.kind == "post" ? "post.sent" : "webhook.sent";
}

std::optional<StreamFields> raised_event(const DispatchRecord& record) {
  const PlannedAction& action = record.entry->action;
  const std::string type = raised_event_type(action, record.outcome);
  if (type.empty() || !record.raise_event) return std::nullopt;
  nlohmann::json props = {{"workflow", action.workflow},
                          {"step", action.step},
                          {"action_id", action.action_id},
                          {"connector", action.connector}};
  props[record.outcome == DispatchOutcome::sent ? "provider_id" : "reason"] = record.detail;
  return StreamFields{{"type", type},
                      {"lead", action.lead},
                      {"at", format_rfc3339(record.at)},
                      {"props", props.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
}

const char* outcome_letter(DispatchOutcome outcome) {
  switch (outcome) {
    case DispatchOutcome::sent: return "s";
    case DispatchOutcome::failed: return "f";
    case DispatchOutcome::suppressed: return "x";
    case DispatchOutcome::skipped: return "k";
  }
  return "?";
}

std::string post_state(const DispatchRecord& record) {
  return fmt::format(FMT_COMPILE("{}:{}"), outcome_letter(record.outcome), record.detail);
}

std::vector<std::string> outcome_counters(const DispatchRecord& record) {
  const PlannedAction& action = record.entry->action;
  std::vector<std::string> counters{fmt::format(FMT_COMPILE("step:{}:{}"), action.step, outcome_name(record.outcome))};
  if (record.outcome != DispatchOutcome::sent) return counters;
  // The UTC day by calendar arithmetic: fmt's chrono formatting goes through the C locale's strftime, per send.
  const std::chrono::year_month_day day{std::chrono::floor<std::chrono::days>(record.at)};
  counters.push_back(fmt::format(FMT_COMPILE("sent:{:04}-{:02}-{:02}"), static_cast<int>(day.year()),
                                 static_cast<unsigned>(day.month()), static_cast<unsigned>(day.day())));
  for_each_arm(action.arms,
               [&](std::string_view arm) { counters.push_back(fmt::format(FMT_COMPILE("split:{}:sent"), arm)); });
  return counters;
}

const char* outcome_name(DispatchOutcome outcome) {
  switch (outcome) {
    case DispatchOutcome::sent: return "sent";
    case DispatchOutcome::failed: return "failed";
    case DispatchOutcome::suppressed: return "suppressed";
    case DispatchOutcome::skipped: return "skipped";
  }
  return "?";
}

std::vector<int> partitions_or_all(const std::vector<int>& partitions, int count) {
  if (!partitions.empty()) return partitions;
  std::vector<int> all(static_cast<std::size_t>(count));
  for (int p = 0; p < count; ++p) all[static_cast<std::size_t>(p)] = p;
  return all;
}

std::vector<TimerRef> timers_in_due_order(std::vector<std::pair<std::int64_t, std::string>> due) {
  std::sort(due.begin(), due.end());
  std::vector<TimerRef> timers;
  timers.reserve(due.size());
  for (const auto& [ms, member] : due) {
    if (auto timer = TimerRef::parse(member)) {
      timer->due = from_unix_ms(ms);
      timers.push_back(std::move(*timer));
    }
  }
  return timers;
}

void Store::ack_events(const std::vector<StreamEntry>& entries) {
  std::vector<const StreamEntry*> named;
  named.reserve(entries.size());
  for (const StreamEntry& entry : entries) named.push_back(&entry);
  ack_events(named);
}

}  // namespace nurture::engine
