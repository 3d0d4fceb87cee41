#pragma once
// Stable identities: the same inputs give the same ids on every engine and in
// simulate, which is what makes re-runs after a crash idempotent.

#include <cstdint>
#include <string>
#include <string_view>

namespace nurture::engine {

// Lowercase hex XXH3-128 of `lead ␟ workflow ␟ version ␟ enrollment number ␟ step id ␟ visit`.
std::string action_id(std::string_view lead, std::string_view workflow, int version, int enrollment_number,
                      std::string_view step_id, int visit);

// A scheduled post's action on one connector: lowercase hex XXH3-128 of `~post ␟ post id ␟ connector`, the same
// wherever and however often it is queued.
std::string post_action_id(std::string_view post, std::string_view connector);

// A broadcast's action for one lead: lowercase hex XXH3-128 of `~broadcast ␟ broadcast id ␟ lead`: a lead gets a
// broadcast at most once, whichever variant and however often it is planned.
std::string broadcast_action_id(std::string_view broadcast, std::string_view lead);

// xxh64(lead id, seed 0) mod partitions.
int partition_of(std::string_view lead, int partitions);

}  // namespace nurture::engine
