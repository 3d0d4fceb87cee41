#pragma once
// The interpreter: a pure function of (campaign, lead snapshot, event or timer, now) -> Transition. No I/O, no
// clock of its own; the daemon and `simulate` share it and differ only in store and clock.

#include <functional>
#include <map>
#include <set>
#include <string>

#include "engine/core/event.hpp"
#include "engine/core/lead.hpp"
#include "engine/core/transition.hpp"
#include "engine/core/workflow_versions.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

class Interpreter {
 public:
  // Every workflow at version 1.
  explicit Interpreter(const workflows::Campaign& campaign);
  // With the versions pinned in the store (the daemon).
  Interpreter(const workflows::Campaign& campaign, WorkflowVersions versions);

  Transition apply_event(const LeadSnapshot& lead, const Event& event, TimePoint now) const;
  // A timer that does not match the enrollment's current seq yields a transition that only removes it.
  Transition fire_timer(const LeadSnapshot& lead, const TimerRef& timer, TimePoint now) const;
  // The same, deciding on the lead given (it becomes the transition's lead) instead of on a copy: for a caller
  // that owns the only copy and needs no `before` (the simulation).
  Transition apply_event(LeadSnapshot&& lead, const Event& event, TimePoint now) const;
  Transition fire_timer(LeadSnapshot&& lead, const TimerRef& timer, TimePoint now) const;
  // The lead's segment membership looked at again, with no event (a new or changed segments.yaml): entering or
  // leaving raises its events as usual.
  Transition reevaluate_segments(const LeadSnapshot& lead, TimePoint now) const;
  // The lead's send of a broadcast (variant -1: no split), at most once per lead, only while it is in the
  // broadcast's segment; the scheduler (or simulate) asks at the time engine/core/broadcast_plan says.
  Transition send_broadcast(const LeadSnapshot& lead, const workflows::Broadcast& broadcast, int variant,
                            TimePoint now) const;
  // Ends the lead's enrollment in `workflow` if it is active (`nurture lead remove`): exited, reason `removed`.
  // A transition that changes nothing otherwise.
  Transition remove_from(const LeadSnapshot& lead, const std::string& workflow, TimePoint now) const;

  // Which workflows are paused (they enroll no one): asked when a trigger would enroll. Unset: none is.
  void set_paused(std::function<bool(const std::string& workflow)> paused) { paused_ = std::move(paused); }
  bool is_paused(const std::string& workflow) const { return paused_ && paused_(workflow); }

  const workflows::Campaign& campaign() const { return campaign_; }
  const WorkflowVersions& versions() const { return versions_; }
  // False for an event that can change nothing: no attributes, no revenue to attribute (`props.amount` with
  // `attribution` set), and a type no trigger, exit, wait_for, condition,
  // scoring rule or suppression looks at. Ingest acknowledges those without reading or writing the lead.
  bool is_relevant(const Event& event) const;
  // Whether anything in the campaign looks at events of this type (an event without attributes).
  bool listens_to(const std::string& type) const;
  // Whether planned actions carry the lead's data for rendering (PlannedAction::lead_data). Only a run that
  // dispatches needs it; simulate, which renders nothing, turns it off and saves a JSON copy per action.
  void plan_lead_data(bool on) { plan_lead_data_ = on; }
  bool plans_lead_data() const { return plan_lead_data_; }
  // Whether transitions explain themselves in the timeline (`simulate --explain`): lines of kind `decision` (a
  // branch or split and what decided it), `deferred` (held for the send window, until when) and `score` (a rule's
  // points and the total). They count nowhere; the daemon leaves this off.
  void explain(bool on) { explain_ = on; }
  bool explains() const { return explain_; }
  // Where timeline lines go: by default each transition's `timeline`; with a sink, appended to it instead and the
  // transitions' stay empty. `simulate`, which keeps every line, saves moving each one from its transition.
  void timeline_into(std::vector<TimelineEntry>* sink) { sink_ = sink; }
  std::vector<TimelineEntry>* timeline_sink() const { return sink_; }
  // Event types some condition looks back at, with the props those conditions name.
  const std::map<std::string, std::set<std::string>>& remembered_events() const { return remembered_; }

 private:
  const workflows::Campaign& campaign_;
  WorkflowVersions versions_;
  std::map<std::string, std::set<std::string>> remembered_;
  std::set<std::string> relevant_types_;
  bool plan_lead_data_ = true;
  bool explain_ = false;
  std::vector<TimelineEntry>* sink_ = nullptr;
  std::function<bool(const std::string&)> paused_;
};

}  // namespace nurture::engine
