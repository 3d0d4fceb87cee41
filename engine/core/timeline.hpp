#pragma once
// The timeline of a run (`nurture simulate`, and what the daemon's transitions record): its order and its
// printed forms (JSON Lines and a table).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/transition.hpp"

namespace nurture::engine {

// Timeline order: by `at`, lines without a lead first, then by lead id, then as they happened.
void sort_timeline(std::vector<TimelineEntry>& timeline);
// The timeline's order: by time, then lines without a lead, then by lead; sort_timeline keeps the order in which
// lines were written among equals.
bool timeline_before(const TimelineEntry& a, const TimelineEntry& b);
nlohmann::ordered_json timeline_json(const TimelineEntry& entry);
std::string timeline_table(const std::vector<TimelineEntry>& timeline);
// People's summary (stderr): leads, actions per workflow step, goals.
std::string timeline_summary(const std::vector<TimelineEntry>& timeline);

}  // namespace nurture::engine
