#pragma once
// Segment membership of the leads already stored, looked at again when segments.yaml is new or changed: events
// keep membership current from then on, but a lead that matches a new segment would otherwise wait for its next
// event to enter it.

#include <functional>

#include "engine/core/clock.hpp"
#include "engine/core/interpreter.hpp"
#include "engine/runtime/metrics.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

struct SegmentPass {
  long leads = 0;    // looked at
  long changed = 0;  // entered or left a segment (committed like any transition)
};

// Every stored lead once, in batches; `progress` is told how far it got after each and returns false to stop. A
// lead that changed meanwhile is computed again from its new state (compare-and-set), so running beside the
// engine is safe, and running twice is harmless.
SegmentPass evaluate_segments(Store& store, const Interpreter& interpreter, const Clock& clock,
                              const std::function<bool(const SegmentPass&)>& progress = {},
                              Metrics* metrics = nullptr);

// A fingerprint of the campaign's segment definitions, to tell whether the stored leads were evaluated against
// these ("" when there are none).
std::string segments_fingerprint(const workflows::Campaign& campaign);

}  // namespace nurture::engine
