// Ingest owns the "no lost event" guarantee: an entry is acknowledged only after every effect it caused is
// committed (or after it was dead-lettered with its reason). A malformed entry, or one the engine fails on, is
// dead-lettered; nothing on the stream can stop the loop. A batch costs a handful of round trips: read, leads,
// commits, acknowledgement.

#include "engine/ingest.hpp"

#include <spdlog/spdlog.h>

#include "engine/batch_commit.hpp"

namespace nurture::engine {

namespace {
constexpr int batch_size = 512;
}  // namespace

int Ingest::poll(std::chrono::milliseconds block) {
  const std::vector<StreamEntry> entries = store_.read_events(batch_size, block);
  if (entries.empty()) return 0;
  if (metrics_) metrics_->events_ingested(entries.size());
  const TimePoint now = clock_.now();
  std::vector<Event> events;
  std::vector<const StreamEntry*> sources;
  std::vector<StreamEntry> handled;
  events.reserve(entries.size());
  for (const auto& entry : entries) {
    auto event = parse_event(entry.fields, entry.id);
    if (!event) {
      spdlog::warn("event {} dead-lettered: {}", entry.id, event.error());
      store_.dead_letter_event(entry, event.error());
      if (metrics_) metrics_->events_dead_lettered(1);
      continue;
    }
    if (!interpreter_.is_relevant(*event)) {
      handled.push_back(entry);  // nothing in the campaign looks at it: nothing to commit
      continue;
    }
    events.push_back(std::move(*event));
    sources.push_back(&entry);
  }
  std::vector<WorkItem> work;
  work.reserve(events.size());
  for (const auto& event : events) {
    work.push_back({event.lead,
                    [this, &event, now](const LeadSnapshot& lead) { return interpreter_.apply_event(lead, event, now); },
                    event.stream_id, event.id, false});
  }
  for (std::size_t i = 0; i < work.size(); ++i) work[i].from_inbox = sources[i]->from_inbox;
  std::vector<WorkResult> results;
  try {
    results = commit_batch(store_, work, metrics_);
  } catch (const StoreUnavailable&) {
    store_.replay_pending();  // whatever was committed is recognised as a duplicate when it comes again
    throw;
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].failed) {
      spdlog::error("event {} for lead {} dead-lettered: {}", sources[i]->id, events[i].lead, results[i].error);
      store_.dead_letter_event(*sources[i], "engine error: " + results[i].error);
      if (metrics_) metrics_->events_dead_lettered(1);
    } else {
      handled.push_back(*sources[i]);
    }
  }
  store_.ack_events(handled);
  return static_cast<int>(entries.size());
}

}  // namespace nurture::engine
