#pragma once
// The Redis data model. Every key a transition touches carries its partition as the
// Redis Cluster hash tag `{p}`, so one Lua script commits a transition in one slot.

#include <charconv>
#include <string>
#include <string_view>

namespace nurture::engine::redis {

// The consumer groups: engines reading events (front door and inboxes), dispatchers reading outboxes.
inline constexpr const char* engine_group = "engine";
inline constexpr const char* dispatch_group = "dispatch";

class Keys {
 public:
  explicit Keys(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string meta() const { return prefix_ + "meta"; }
  std::string events() const { return prefix_ + "events"; }
  // Front-door stream k of `events.streams`: `events`, then `events:1` ...
  std::string events(int k) const { return k == 0 ? events() : prefix_ + "events:" + std::to_string(k); }
  std::string engines() const { return prefix_ + "engines"; }
  std::string workflow(const std::string& id) const { return prefix_ + "wf:" + id; }
  std::string events_dead() const { return prefix_ + "events:dead"; }
  std::string lead(int p, const std::string& id) const { return tagged(p, "lead:", id); }
  std::string timers(int p) const { return tagged(p, "timers"); }
  std::string outbox(int p) const { return tagged(p, "outbox"); }
  std::string inbox(int p) const { return tagged(p, "inbox"); }
  std::string outbox_dead(int p) const { return tagged(p, "outbox:dead"); }
  std::string retries(int p) const { return tagged(p, "retry"); }
  // Dispatch records of the outbox entries added on one (UTC) day, by action id: a hash per partition and day,
  // so a batch reads and writes them in one command and they expire together.
  std::string done(int p, long long day) const { return tagged(p, "done:", std::to_string(day)); }
  std::string seen(int p, const std::string& event_id) const {
    return tagged(p, "seen:", event_id);
  }
  std::string stats(int p, const std::string& workflow) const {
    return tagged(p, "stats:", workflow);
  }
  // A paused workflow: `workflow -> since ms` in every partition, next to what it holds meanwhile (due timers with
  // their due times, actions as the retries keep them).
  std::string paused(int p) const { return tagged(p, "paused"); }
  std::string held_timers(int p, const std::string& workflow) const {
    return tagged(p, "held:", workflow, ":timers");
  }
  std::string held_actions(int p, const std::string& workflow) const {
    return tagged(p, "held:", workflow, ":actions");
  }
  // Scheduled posts whose queue time came: `post:connector -> state` (Store::post_states).
  std::string posts(int p) const { return tagged(p, "posts"); }
  std::string suppress(const std::string& channel) const { return prefix_ + "suppress:" + channel; }
  // The lead an emailed action went to, for bounce reports that only carry the Message-ID (7 days).
  std::string action_lead(const std::string& action_id) const { return prefix_ + "act:" + action_id; }
  const std::string& prefix() const { return prefix_; }

 private:
  // `<prefix>{p}:<parts...>`, built with one allocation: keys are made for every lead and batch on the hot path.
  template <typename... Parts>
  std::string tagged(int p, const Parts&... parts) const {
    char number[12];
    const std::string_view partition(number, static_cast<std::size_t>(std::to_chars(number, number + sizeof number, p).ptr - number));
    std::string key;
    key.reserve(prefix_.size() + partition.size() + 3 + (std::string_view(parts).size() + ...));
    key.append(prefix_).append("{").append(partition).append("}:");
    (key.append(parts), ...);
    return key;
  }

  std::string prefix_;
};

}  // namespace nurture::engine::redis
