#include "engine/core/broadcast_plan.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>
#include <xxhash.h>

#include "engine/core/calendar.hpp"

namespace nurture::engine {

namespace {
constexpr const char* workflow_prefix = "~b:";
constexpr const char* earliest_zone = "Etc/GMT-14";  // UTC+14 (POSIX signs are reversed): where a day starts first

std::uint64_t hash_of(std::string_view a, std::string_view b, std::string_view salt) {
  const std::string seed = fmt::format("{}\x1f{}\x1f{}", a, b, salt);
  return XXH64(seed.data(), seed.size(), 0);
}
}  // namespace

std::string broadcast_workflow(std::string_view broadcast) { return fmt::format("{}{}", workflow_prefix, broadcast); }

std::string broadcast_of_workflow(std::string_view workflow) {
  return workflow.rfind(workflow_prefix, 0) == 0 ? std::string(workflow.substr(3)) : std::string();
}

std::string broadcast_zone(const workflows::Broadcast& broadcast, const std::string& lead_zone,
                           const std::string& default_zone) {
  const std::string fallback = broadcast.fallback.empty() ? default_zone : broadcast.fallback;
  if (broadcast.lead_timezone) return lead_zone.empty() ? fallback : lead_zone;
  return broadcast.timezone.empty() ? default_zone : broadcast.timezone;
}

TimePoint broadcast_time(const workflows::Broadcast& broadcast, const std::string& zone) {
  if (broadcast.at) return *broadcast.at;
  return local_time_in(broadcast.at_local, zone).value_or(TimePoint{});  // the loader checked its shape
}

TimePoint broadcast_opens(const workflows::Broadcast& broadcast, const std::string& default_zone) {
  if (broadcast.lead_timezone) return broadcast_time(broadcast, earliest_zone);
  return broadcast_time(broadcast, broadcast_zone(broadcast, "", default_zone));
}

int test_variant(const workflows::Broadcast& broadcast, std::string_view lead) {
  if (!broadcast.split) return -1;
  if (hash_of(broadcast.id, lead, "test") % 100 >= static_cast<std::uint64_t>(broadcast.split->test_share)) return -1;
  return static_cast<int>(hash_of(broadcast.id, lead, "variant") % broadcast.split->templates.size());
}

bool in_part(const workflows::Broadcast& broadcast, std::string_view lead, BroadcastPart part) {
  if (!broadcast.split) return part == BroadcastPart::first;
  return (test_variant(broadcast, lead) >= 0) == (part == BroadcastPart::first);
}

std::vector<BroadcastSend> plan_broadcast(const workflows::Broadcast& broadcast,
                                          const std::vector<BroadcastRecipient>& recipients, BroadcastPart part,
                                          int winner, TimePoint not_before, const std::string& default_zone,
                                          int shares) {
  std::vector<BroadcastSend> sends;
  for (const auto& recipient : recipients) {
    if (!in_part(broadcast, recipient.lead, part)) continue;
    const std::string zone = broadcast_zone(broadcast, recipient.zone, default_zone);
    TimePoint due = broadcast_time(broadcast, zone);
    // The rest keeps its local time of day in each lead's zone, on the first day after the winner is known.
    if (part == BroadcastPart::rest && broadcast.lead_timezone) due = same_local_time_after(due, not_before, zone);
    const int variant = part == BroadcastPart::rest ? winner : test_variant(broadcast, recipient.lead);
    sends.push_back({std::max(due, not_before), recipient.lead, variant});
  }
  std::sort(sends.begin(), sends.end(), [](const BroadcastSend& a, const BroadcastSend& b) {
    return a.due != b.due ? a.due < b.due : a.lead < b.lead;
  });
  if (broadcast.throttle && !sends.empty()) {
    const auto interval = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::duration<double, std::micro>(broadcast.throttle->per) * std::max(shares, 1) /
        broadcast.throttle->count);
    TimePoint next = sends.front().due;
    std::chrono::microseconds owed{0};  // sub-millisecond intervals add up instead of rounding to nothing
    for (auto& send : sends) {
      if (send.due > next) {
        next = send.due;
        owed = {};
      }
      send.due = next;
      owed += interval;
      const auto whole = std::chrono::duration_cast<std::chrono::milliseconds>(owed);
      next += whole;
      owed -= whole;
    }
  }
  return sends;
}

int pick_winner(const workflows::Broadcast& broadcast, const std::map<std::string, long>& counters) {
  if (!broadcast.split) return -1;
  const std::string metric = broadcast.split->pick_by == "opens" ? "opened" : "clicked";
  const auto value = [&](std::size_t variant, const std::string& field) {
    const auto it = counters.find(fmt::format("split:{}:{}:{}", broadcast.id, variant, field));
    return it == counters.end() ? 0L : it->second;
  };
  int best = 0;
  double best_rate = -1;
  for (std::size_t k = 0; k < broadcast.split->templates.size(); ++k) {
    const long sent = value(k, "action");  // planned sends: the same count in simulate, which sends nothing
    const double rate = sent == 0 ? 0.0 : static_cast<double>(value(k, metric)) / static_cast<double>(sent);
    if (rate > best_rate) {
      best_rate = rate;
      best = static_cast<int>(k);
    }
  }
  return best;
}

std::optional<long long> stored_number(const std::string& text) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace nurture::engine
