#pragma once
// Who gets a broadcast (broadcasts/*.yaml) when, and with which variant: a pure plan, the same in the daemon's
// broadcast scheduler and in `simulate`. The interpreter makes each send (Interpreter::send_broadcast); the plan
// only says when to ask.
//
// A broadcast without `split` is one part: every member of its segment at its time. With a split, a test group
// (test_share percent of the members, by the lead's hash) gets the variants (again by hash), and `wait` after the
// last test send the variant that did best goes to the rest: at that moment, or with `timezone: lead` at the
// broadcast's time of day in each lead's zone, the first day that comes after it.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/clock.hpp"
#include "workflows/model.hpp"

namespace nurture::engine {

// A broadcast's counters, pause (cancel) and last touch live under the workflow id `~b:ID` (no workflow id has `~`),
// its step being the broadcast id.
std::string broadcast_workflow(std::string_view broadcast);
// The broadcast id of such a workflow id; "" for a workflow's own.
std::string broadcast_of_workflow(std::string_view workflow);

struct BroadcastRecipient {
  std::string lead;
  std::string zone;  // the lead's `timezone` attribute when it is a valid zone, else ""
};

struct BroadcastSend {
  TimePoint due;
  std::string lead;
  int variant = -1;  // the split's variant (index), -1 without a split
  bool operator==(const BroadcastSend&) const = default;
};

enum class BroadcastPart { first, rest };  // first: everyone, or the test group of a split; rest: the winner's

// The zone the broadcast's time is read in for a lead whose own zone is `lead_zone` ("" when it has none).
std::string broadcast_zone(const workflows::Broadcast& broadcast, const std::string& lead_zone,
                           const std::string& default_zone);
// When the broadcast goes to a lead in `zone` (before any throttle or split).
TimePoint broadcast_time(const workflows::Broadcast& broadcast, const std::string& zone);
// The first instant it can send anything: its time, or with `timezone: lead` its time in the earliest zone (UTC+14).
TimePoint broadcast_opens(const workflows::Broadcast& broadcast, const std::string& default_zone);

// Whether `lead` is in the test group of the broadcast's split, and with which variant (-1: not in it, or no split).
int test_variant(const workflows::Broadcast& broadcast, std::string_view lead);
bool in_part(const workflows::Broadcast& broadcast, std::string_view lead, BroadcastPart part);

// The sends of one part for these recipients (members of the segment not yet sent it), in time order. `winner`:
// the rest's variant. Nothing is due before `not_before` (the rest: the moment the winner is picked; after a
// restart: now). The throttle spreads the sends (an engine that serves 1/`shares` of the partitions sends that
// share of the rate).
std::vector<BroadcastSend> plan_broadcast(const workflows::Broadcast& broadcast,
                                          const std::vector<BroadcastRecipient>& recipients, BroadcastPart part,
                                          int winner, TimePoint not_before, const std::string& default_zone,
                                          int shares = 1);

// The variant that did best by the split's `pick_by` (opens or clicks per send) in the broadcast's counters
// (`split:ID:K:action|opened|clicked`); the first on a tie, or when nothing was sent.
int pick_winner(const workflows::Broadcast& broadcast, const std::map<std::string, long>& counters);

// What the store's meta says of a broadcast (`broadcast:ID:decide` in Unix ms, `broadcast:ID:winner`), read
// defensively: a value that is not a whole number (edited by hand, say) is none.
std::optional<long long> stored_number(const std::string& text);

}  // namespace nurture::engine
