// The simulation keeps leads and timers in memory and commits a transition by taking its lead state as is: with
// one thread and no crash to survive, there is nothing to compare-and-set. The clock jumps from one due thing
// (event or timer) to the next, so a 30-day drip for many leads costs only the steps it runs.

#include "engine/core/simulation.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

namespace nurture::engine {

namespace {
constexpr auto default_horizon = std::chrono::hours(24 * 400);
}

tl::expected<std::vector<Event>, std::string> read_event_lines(const std::string& text, const std::string& name) {
  std::vector<Event> events;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto read = fields_from_json_object(line);
    if (!read) return tl::unexpected(fmt::format("{}:{}: not a JSON object ({})", name, number, read.error()));
    StreamFields& fields = *read;
    if (!fields.count("at")) return tl::unexpected(fmt::format("{}:{}: missing field `at`", name, number));
    auto event = parse_event(fields, "0-0");
    if (!event) return tl::unexpected(fmt::format("{}:{}: {}", name, number, event.error()));
    events.push_back(std::move(*event));
  }
  return events;
}

void Simulation::commit(const Transition& transition, std::vector<TimelineEntry>& timeline) {
  LeadSnapshot& lead = leads_[transition.lead.id];
  const std::uint64_t version = lead.version;
  lead = transition.lead;
  lead.version = version + 1;
  for (const auto& timer : transition.timers_to_remove) {
    auto it = timer_due_.find(timer.member());
    if (it == timer_due_.end()) continue;
    timers_.erase({it->second, it->first});
    timer_due_.erase(it);
  }
  for (const auto& [timer, due] : transition.timers_to_add) {
    const std::string member = timer.member();
    timers_.insert({to_unix_ms(due), member});
    timer_due_[member] = to_unix_ms(due);
  }
  timeline.insert(timeline.end(), transition.timeline.begin(), transition.timeline.end());
  actions_.insert(actions_.end(), transition.actions.begin(), transition.actions.end());
}

std::vector<TimelineEntry> Simulation::run(std::vector<Event> events, const SimulationOptions& options) {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
  std::vector<TimelineEntry> timeline;
  if (events.empty() && !options.start) return timeline;
  const TimePoint start = options.start.value_or(events.front().at);
  const TimePoint until = options.until.value_or(start + default_horizon);

  auto lead_of = [&](const std::string& id) -> LeadSnapshot {
    auto it = leads_.find(id);
    if (it != leads_.end()) return it->second;
    LeadSnapshot fresh;
    fresh.id = id;
    return fresh;
  };

  std::size_t next_event = 0;
  while (true) {
    const bool have_event = next_event < events.size() && events[next_event].at <= until;
    const bool have_timer = !timers_.empty() && from_unix_ms(timers_.begin()->first) <= until;
    if (!have_event && !have_timer) break;
    if (have_timer && (!have_event || from_unix_ms(timers_.begin()->first) <= events[next_event].at)) {
      const auto [due_ms, member] = *timers_.begin();
      timers_.erase(timers_.begin());
      timer_due_.erase(member);
      auto timer = TimerRef::parse(member);
      if (!timer) continue;
      const TimePoint due = from_unix_ms(due_ms);
      commit(interpreter_.fire_timer(lead_of(timer->lead), *timer, std::max(due, start)), timeline);
    } else {
      const Event& event = events[next_event++];
      commit(interpreter_.apply_event(lead_of(event.lead), event, std::max(event.at, start)), timeline);
    }
  }
  sort_timeline(timeline);
  return timeline;
}

void sort_timeline(std::vector<TimelineEntry>& timeline) {
  std::stable_sort(timeline.begin(), timeline.end(), [](const TimelineEntry& a, const TimelineEntry& b) {
    if (a.at != b.at) return a.at < b.at;
    if (a.lead.empty() != b.lead.empty()) return a.lead.empty();
    return a.lead < b.lead;
  });
}

nlohmann::ordered_json timeline_json(const TimelineEntry& e) {
  nlohmann::ordered_json line;
  line["at"] = format_rfc3339(e.at);
  if (!e.lead.empty()) line["lead"] = e.lead;
  if (!e.workflow.empty()) line["workflow"] = e.workflow;
  line["kind"] = e.kind;
  if (e.kind == "entered") {
    line["version"] = e.version;
  } else if (e.kind == "action") {
    line["step"] = e.step;
    line["action"] = e.action;
    line["connector"] = e.connector;
    if (!e.template_name.empty()) line["template"] = e.template_name;
  } else if (e.kind == "skipped") {
    line["step"] = e.step;
    line["reason"] = e.reason;
  } else if (e.kind == "exited") {
    line["reason"] = e.reason;
    if (!e.goal.empty()) line["goal"] = e.goal;
  } else if (e.kind == "stage") {
    line["from"] = e.from ? nlohmann::ordered_json(*e.from) : nlohmann::ordered_json(nullptr);
    line["to"] = e.to;
    line["score"] = e.score;
  }
  return line;
}

std::string timeline_table(const std::vector<TimelineEntry>& timeline) {
  std::string out = fmt::format("{:<20}  {:<12}  {:<16}  {:<9}  {}\n", "at", "lead", "workflow", "kind", "detail");
  for (const auto& e : timeline) {
    std::string detail;
    if (e.kind == "entered") detail = fmt::format("version {}", e.version);
    else if (e.kind == "action") detail = fmt::format("{} {} via {}{}", e.step, e.action, e.connector,
                                                       e.template_name.empty() ? "" : " (" + e.template_name + ")");
    else if (e.kind == "skipped") detail = fmt::format("{}: {}", e.step, e.reason);
    else if (e.kind == "exited") detail = e.goal.empty() ? e.reason : fmt::format("{} {}", e.reason, e.goal);
    else if (e.kind == "stage") detail = fmt::format("{} -> {} (score {})", e.from.value_or("none"), e.to, e.score);
    out += fmt::format("{:<20}  {:<12}  {:<16}  {:<9}  {}\n", format_rfc3339(e.at), e.lead, e.workflow, e.kind,
                       detail);
  }
  return out;
}

std::string timeline_summary(const std::vector<TimelineEntry>& timeline) {
  std::set<std::string> leads;
  std::map<std::string, long> actions;  // workflow/step
  std::map<std::string, long> goals;
  std::map<std::string, long> entered;
  for (const auto& e : timeline) {
    if (!e.lead.empty()) leads.insert(e.lead);
    if (e.kind == "action") ++actions[e.workflow + "/" + e.step];
    if (e.kind == "entered") ++entered[e.workflow];
    if (!e.goal.empty()) ++goals[e.workflow + "/" + e.goal];
  }
  std::string out = fmt::format("{} lead(s)\n", leads.size());
  for (const auto& [workflow, n] : entered) out += fmt::format("  {}: {} entered\n", workflow, n);
  for (const auto& [step, n] : actions) out += fmt::format("  {}: {} action(s)\n", step, n);
  for (const auto& [goal, n] : goals) out += fmt::format("  goal {}: {}\n", goal, n);
  return out;
}

}  // namespace nurture::engine
