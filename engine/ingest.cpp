// Ingest owns the "no lost event" guarantee: an entry is acknowledged only after every effect it caused is
// committed (or after it was dead-lettered with its reason). A malformed entry, or one the engine fails on, is
// dead-lettered; nothing on the stream can stop the loop.

#include "engine/ingest.hpp"

#include <spdlog/spdlog.h>

namespace nurture::engine {

namespace {
constexpr int batch_size = 512;
constexpr int max_commit_attempts = 32;
}  // namespace

CommitOutcome commit_with_retry(Store& store, const std::string& lead,
                                const std::function<Transition(const LeadSnapshot&)>& compute,
                                const std::string& stream_id, const std::string& event_id) {
  for (int attempt = 1;; ++attempt) {
    const LeadSnapshot snapshot = store.load_lead(lead);
    CommitOutcome outcome = store.commit(snapshot, compute(snapshot), stream_id, event_id);
    if (outcome != CommitOutcome::conflict) return outcome;
    if (attempt == max_commit_attempts) {
      throw std::runtime_error("the lead kept changing during " + std::to_string(attempt) + " commit attempts");
    }
  }
}

int Ingest::poll(std::chrono::milliseconds block) {
  const std::vector<StreamEntry> entries = store_.read_events(batch_size, block);
  std::vector<std::string> handled;
  handled.reserve(entries.size());
  for (const auto& entry : entries) {
    auto event = parse_event(entry.fields, entry.id);
    if (!event) {
      spdlog::warn("event {} dead-lettered: {}", entry.id, event.error());
      store_.dead_letter_event(entry, event.error());
      continue;
    }
    try {
      apply(entry, *event);
      handled.push_back(entry.id);
    } catch (const StoreUnavailable&) {
      store_.ack_events(handled);  // what was committed is done; the rest is re-delivered
      throw;
    } catch (const std::exception& e) {
      spdlog::error("event {} for lead {} dead-lettered: {}", entry.id, event->lead, e.what());
      store_.dead_letter_event(entry, std::string("engine error: ") + e.what());
    }
  }
  store_.ack_events(handled);
  return static_cast<int>(entries.size());
}

void Ingest::apply(const StreamEntry& entry, const Event& event) {
  const TimePoint now = clock_.now();
  commit_with_retry(
      store_, event.lead,
      [&](const LeadSnapshot& lead) { return interpreter_.apply_event(lead, event, now); }, entry.id, event.id);
}

}  // namespace nurture::engine
