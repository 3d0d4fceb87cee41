#pragma once
// What the interpreter decides for one lead at one instant, and what the store commits atomically.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/clock.hpp"
#include "engine/lead.hpp"

namespace nurture::engine {

// A durable wait: the enrollment (lead, workflow) at sequence `seq` is due. A timer whose seq no longer matches
// the enrollment is stale and fires as a no-op.
struct TimerRef {
  std::string lead;
  std::string workflow;
  std::uint64_t seq = 0;

  std::string member() const;  // `lead ␟ workflow ␟ seq`: sorts by lead, then workflow, as semantics.md wants
  static std::optional<TimerRef> parse(const std::string& member);
};

// An action to dispatch, as written to the outbox. Rendering happens at dispatch time, with the lead's data then.
struct PlannedAction {
  std::string action_id;
  std::string lead;
  std::string workflow;
  int version = 1;
  std::string step;
  std::string kind;  // email
  std::string template_name;
  std::string connector;
  std::string to;
};

struct TimelineEntry {
  TimePoint at;
  std::string lead;
  std::string workflow;
  std::string kind;  // entered, action, skipped, completed
  std::string step;
  std::string reason;
};

struct EnrollmentChange {
  std::string workflow;
  std::optional<std::string> expected;  // the packed enrollment the transition was computed from; nullopt: none
  Enrollment next;
};

struct Transition {
  std::string lead;
  nlohmann::json attr_updates = nlohmann::json::object();
  std::vector<EnrollmentChange> enrollments;
  std::vector<std::pair<TimerRef, TimePoint>> timers_to_add;
  std::vector<TimerRef> timers_to_remove;
  std::vector<PlannedAction> actions;
  std::vector<TimelineEntry> timeline;

  bool changes_nothing() const {
    return attr_updates.empty() && enrollments.empty() && timers_to_add.empty() && timers_to_remove.empty() &&
           actions.empty();
  }
};

}  // namespace nurture::engine
