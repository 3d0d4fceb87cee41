#pragma once
// The interpreter: a pure function of (campaign, lead snapshot, event or timer, now) -> Transition. No I/O, no
// clock of its own; the daemon and `simulate` share it and differ only in store and clock.

#include "engine/event.hpp"
#include "engine/lead.hpp"
#include "engine/transition.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

class Interpreter {
 public:
  explicit Interpreter(const workflows::Campaign& campaign) : campaign_(campaign) {}

  Transition apply_event(const LeadSnapshot& lead, const Event& event, TimePoint now) const;
  // A timer that does not match the enrollment's current seq yields a transition that only removes it.
  Transition fire_timer(const LeadSnapshot& lead, const TimerRef& timer, TimePoint now) const;

 private:
  // Runs steps from `step_index` until a wait or the end, recording everything in `out`.
  void run_from(const workflows::Workflow& workflow, const nlohmann::json& attrs, Enrollment& enrollment,
                std::size_t step_index, TimePoint now, const std::string& lead, Transition& out) const;

  const workflows::Campaign& campaign_;
};

}  // namespace nurture::engine
