#include "engine/core/timeline.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>

#include <fmt/format.h>

#include "engine/core/event.hpp"

namespace nurture::engine {

TimelineEntry::TimelineEntry(const TimelineEntry& other)
    : at(other.at),
      lead(other.lead),
      workflow(other.workflow),
      kind(other.kind),
      step(other.step),
      action(other.action),
      connector(other.connector),
      template_name(other.template_name),
      broadcast(other.broadcast),
      variant(other.variant),
      version(other.version),
      detail_(other.detail_ ? std::make_unique<TimelineDetail>(*other.detail_) : nullptr) {}

TimelineEntry& TimelineEntry::operator=(const TimelineEntry& other) {
  if (this != &other) *this = TimelineEntry(other);
  return *this;
}

const TimelineDetail& TimelineEntry::detail() const {
  static const TimelineDetail none;
  return detail_ ? *detail_ : none;
}

TimelineDetail& TimelineEntry::mutable_detail() {
  if (!detail_) detail_ = std::make_unique<TimelineDetail>();
  return *detail_;
}

bool timeline_before(const TimelineEntry& a, const TimelineEntry& b) {
  if (a.at != b.at) return a.at < b.at;
  if (a.lead.empty() != b.lead.empty()) return a.lead.empty();
  return a.lead < b.lead;
}

// Lines are large and a simulation writes hundreds of thousands, mostly in time order already: then only the
// lines of one instant are sorted among themselves; otherwise positions are sorted and each line moved once.
void sort_timeline(std::vector<TimelineEntry>& timeline) {
  const auto by_time = [](const TimelineEntry& a, const TimelineEntry& b) { return a.at < b.at; };
  if (std::is_sorted(timeline.begin(), timeline.end(), by_time)) {
    for (auto from = timeline.begin(); from != timeline.end();) {
      auto to = std::find_if(from, timeline.end(), [&](const TimelineEntry& e) { return e.at != from->at; });
      if (!std::is_sorted(from, to, timeline_before)) std::stable_sort(from, to, timeline_before);
      from = to;
    }
    return;
  }
  std::vector<std::uint32_t> order(timeline.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return timeline_before(timeline[a], timeline[b]); });
  std::vector<TimelineEntry> sorted;
  sorted.reserve(timeline.size());
  for (std::uint32_t i : order) sorted.push_back(std::move(timeline[i]));
  timeline = std::move(sorted);
}

nlohmann::ordered_json timeline_json(const TimelineEntry& e) {
  nlohmann::ordered_json line;
  line["at"] = format_rfc3339(e.at);
  if (!e.lead.empty()) line["lead"] = e.lead;
  if (!e.workflow.empty()) line["workflow"] = e.workflow;
  if (!e.broadcast.empty()) line["broadcast"] = e.broadcast;
  line["kind"] = e.kind;
  if (!e.broadcast.empty()) {  // a broadcast's send, skip or winner: no step
    if (e.kind == "action") {
      line["action"] = e.action;
      line["connector"] = e.connector;
    }
    if (e.kind == "skipped") line["reason"] = e.detail().reason;
    if (!e.template_name.empty()) line["template"] = e.template_name;
    if (e.variant >= 0) line["variant"] = e.variant + 1;
  } else if (e.kind == "entered") {
    line["version"] = e.version;
  } else if (e.kind == "action") {
    line["step"] = e.step;
    line["action"] = e.action;
    line["connector"] = e.connector;
    if (!e.template_name.empty()) line["template"] = e.template_name;
  } else if (e.kind == "skipped") {
    line["step"] = e.step;
    line["reason"] = e.detail().reason;
  } else if (e.kind == "exited") {
    line["reason"] = e.detail().reason;
    if (!e.detail().goal.empty()) line["goal"] = e.detail().goal;
  } else if (e.kind == "stage") {
    line["from"] = e.detail().from ? nlohmann::ordered_json(*e.detail().from) : nlohmann::ordered_json(nullptr);
    line["to"] = e.detail().to;
    line["score"] = e.detail().score;
  } else if (e.kind == "post") {
    line["post"] = e.detail().post;
    line["connector"] = e.connector;
  } else if (e.kind == "decision") {
    line["step"] = e.step;
    line["to"] = e.detail().to;
    line["because"] = e.detail().because;
  } else if (e.kind == "deferred") {
    line["step"] = e.step;
    line["until"] = e.detail().until ? format_rfc3339(*e.detail().until) : "";
  } else if (e.kind == "revenue") {
    line["step"] = e.step;
    line["amount"] = e.detail().points;
    line["currency"] = e.detail().rule;
  } else if (e.kind == "score") {
    line["rule"] = e.detail().rule;
    line["points"] = e.detail().points;
    line["total"] = std::round(e.detail().total * 10) / 10;
  }
  return line;
}

std::string timeline_table(const std::vector<TimelineEntry>& timeline) {
  std::string out = fmt::format("{:<20}  {:<12}  {:<16}  {:<9}  {}\n", "at", "lead", "workflow", "kind", "detail");
  for (const auto& e : timeline) {
    std::string detail;
    if (!e.broadcast.empty()) {
      detail = e.kind == "skipped" ? e.detail().reason : fmt::format("{} {} {}", e.broadcast, e.action, e.template_name);
      if (e.variant >= 0) detail += fmt::format(" (variant {})", e.variant + 1);
    } else if (e.kind == "entered") detail = fmt::format("version {}", e.version);
    else if (e.kind == "action") detail = fmt::format("{} {} via {}{}", e.step, e.action, e.connector,
                                                       e.template_name.empty() ? "" : " (" + e.template_name + ")");
    else if (e.kind == "skipped") detail = fmt::format("{}: {}", e.step, e.detail().reason);
    else if (e.kind == "exited") detail = e.detail().goal.empty() ? e.detail().reason : fmt::format("{} {}", e.detail().reason, e.detail().goal);
    else if (e.kind == "decision") detail = fmt::format("{} -> {}: {}", e.step, e.detail().to, e.detail().because);
    else if (e.kind == "deferred") detail = fmt::format("{} until {}", e.step, e.detail().until ? format_rfc3339(*e.detail().until) : "");
    else if (e.kind == "revenue") detail = fmt::format("{} {:.2f} to {}", e.detail().rule, e.detail().points, e.step);
    else if (e.kind == "score") detail = fmt::format("{} {:+g} = {:.1f}", e.detail().rule, e.detail().points, e.detail().total);
    else if (e.kind == "stage") detail = fmt::format("{} -> {} (score {})", e.detail().from.value_or("none"), e.detail().to, e.detail().score);
    else if (e.kind == "post") detail = fmt::format("{} via {}", e.detail().post, e.connector);
    out += fmt::format("{:<20}  {:<12}  {:<16}  {:<9}  {}\n", format_rfc3339(e.at), e.lead,
                       e.broadcast.empty() ? e.workflow : "broadcast", e.kind, detail);
  }
  return out;
}

std::string timeline_summary(const std::vector<TimelineEntry>& timeline) {
  std::set<std::string> leads;
  std::map<std::string, long> actions;  // workflow/step
  std::map<std::string, long> goals;
  std::map<std::string, long> entered;
  std::map<std::string, long> posts;  // post -> connectors
  for (const auto& e : timeline) {
    if (e.kind == "post") ++posts[e.detail().post];
    if (!e.lead.empty()) leads.insert(e.lead);
    if (e.kind == "action") ++actions[e.broadcast.empty() ? e.workflow + "/" + e.step : "broadcast " + e.broadcast];
    if (e.kind == "entered") ++entered[e.workflow];
    if (!e.detail().goal.empty()) ++goals[e.workflow + "/" + e.detail().goal];
  }
  std::string out = fmt::format("{} lead(s)\n", leads.size());
  for (const auto& [workflow, n] : entered) out += fmt::format("  {}: {} entered\n", workflow, n);
  for (const auto& [step, n] : actions) out += fmt::format("  {}: {} action(s)\n", step, n);
  for (const auto& [goal, n] : goals) out += fmt::format("  goal {}: {}\n", goal, n);
  for (const auto& [post, n] : posts) out += fmt::format("  post {}: {} connector(s)\n", post, n);
  return out;
}

}  // namespace nurture::engine
