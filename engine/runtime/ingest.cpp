// Ingest owns the "no lost event" guarantee: an entry is acknowledged only after every effect it caused is
// committed (or after it was dead-lettered with its reason). A malformed entry, or one the engine fails on, is
// dead-lettered; nothing on the stream can stop the loop. A batch costs a handful of round trips: read, leads,
// commits, acknowledgement.

#include "engine/runtime/ingest.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/runtime/batch_commit.hpp"

namespace nurture::engine {

namespace {
// An entry handed out this often without completing was being processed each time an engine failed or stopped:
// it is quarantined rather than allowed to stop every engine that picks it up. Five leaves room for unrelated
// crashes (a kill, a deploy) to hit the same entry more than once.
constexpr int poison_deliveries = 5;
}  // namespace

int Ingest::poll(std::chrono::milliseconds block, int max_entries) {
  const std::vector<StreamEntry> entries = store_.read_events(max_entries, block);
  if (entries.empty()) return 0;
  if (metrics_) metrics_->events_ingested(entries.size());
  try {
    handle(entries);
  } catch (const StoreUnavailable&) {
    store_.replay_pending();  // whatever was committed is recognised as a duplicate when it comes again
    throw;
  } catch (const std::exception& e) {
    // Not the store: something about these entries. Alone, the entry is at fault; in a batch, find out which.
    if (entries.size() == 1) {
      dead_letter(entries.front(), std::string("engine error: ") + e.what());
    } else {
      spdlog::error("a batch of {} events failed ({}); retrying them one at a time", entries.size(), e.what());
      store_.isolate_pending();
    }
  }
  return static_cast<int>(entries.size());
}

void Ingest::dead_letter(const StreamEntry& entry, const std::string& reason) {
  spdlog::warn("event {} dead-lettered: {}", entry.id, reason);
  store_.dead_letter_event(entry, reason);
  if (metrics_) metrics_->events_dead_lettered(1);
}

void Ingest::handle(const std::vector<StreamEntry>& entries) {
  const TimePoint now = clock_.now();
  std::vector<Event> events;
  std::vector<const StreamEntry*> sources;
  std::vector<const StreamEntry*> handled;
  events.reserve(entries.size());
  for (const auto& entry : entries) {
    if (entry.earlier_deliveries >= poison_deliveries) {
      dead_letter(entry, fmt::format("poison: handed to an engine {} times without completing (the engine failed "
                                     "or stopped while processing it)",
                                     entry.earlier_deliveries));
      continue;
    }
    auto event = parse_event(entry.fields, entry.id);
    if (!event) {
      dead_letter(entry, event.error());
      continue;
    }
    if (!interpreter_.is_relevant(*event)) {
      handled.push_back(&entry);  // nothing in the campaign looks at it: nothing to commit
      continue;
    }
    events.push_back(std::move(*event));
    sources.push_back(&entry);
  }
  std::vector<WorkItem> work;
  work.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& event = events[i];
    work.push_back({event.lead,
                    [this, &event, now](const LeadSnapshot& lead) { return interpreter_.apply_event(lead, event, now); },
                    event.stream_id, event.id, sources[i]->from_inbox, sources[i]->front_door});
  }
  const std::vector<WorkResult> results = commit_batch(store_, work, metrics_);
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].failed) {
      dead_letter(*sources[i], "engine error: " + results[i].error);
    } else {
      handled.push_back(sources[i]);
    }
  }
  store_.ack_events(handled);
}

}  // namespace nurture::engine
