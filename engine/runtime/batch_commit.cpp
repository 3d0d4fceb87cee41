#include "engine/runtime/batch_commit.hpp"

#include <map>

#include <spdlog/spdlog.h>

namespace nurture::engine {

namespace {
constexpr int max_commit_attempts = 32;

// The daemon's log line for what a committed transition changed that an operator asks about: a stage change and
// a send the workflow skipped (frequency cap, no address). Sends and their outcomes are logged by the dispatcher.
void log_committed(const Transition& transition) {
  for (const TimelineEntry& line : transition.timeline) {
    if (line.kind == "stage") {
      spdlog::info("stage lead={} from={} to={} score={}", line.lead, line.from.value_or("none"), line.to, line.score);
    } else if (line.kind == "skipped") {
      spdlog::info("skipped lead={} workflow={} step={} reason={}", line.lead, line.workflow, line.step, line.reason);
    }
  }
}

// Suppression lists are global, outside the lead's partition: written before the commit (adding twice is harmless;
// a commit that then fails is retried and adds again), so an unsubscribe is never committed without them.
void write_suppressions(Store& store, const Transition& transition) {
  for (const auto& [channel, address] : transition.suppress) store.suppress(channel, address);
}

// The slow path for a conflict: another writer moved the lead on; read it again and recompute, alone.
CommitOutcome commit_alone(Store& store, const WorkItem& item) {
  for (int attempt = 1;; ++attempt) {
    const LeadSnapshot snapshot = store.load_lead(item.lead);
    const Transition transition = item.compute(snapshot);
    write_suppressions(store, transition);
    const CommitOutcome outcome =
        store.commit_many({CommitRequest{&snapshot, &transition, item.stream_id, item.event_id, item.from_inbox, item.front_door}})
            .front();
    if (outcome == CommitOutcome::committed) log_committed(transition);
    if (outcome != CommitOutcome::conflict) return outcome;
    if (attempt == max_commit_attempts) {
      throw std::runtime_error("the lead kept changing during " + std::to_string(attempt) + " commit attempts");
    }
  }
}

// Commits the wave; when storage rejects it (one poison item can fail a whole script call), commits each item
// alone so that only the item at fault fails and the rest go through.
std::vector<CommitOutcome> commit_isolating(Store& store, const std::vector<CommitRequest>& requests,
                                            const std::vector<std::size_t>& requested,
                                            const std::vector<std::size_t>& wave, std::vector<WorkResult>& results) {
  try {
    return store.commit_many(requests);
  } catch (const CommitRejected&) {
  }
  std::vector<CommitOutcome> outcomes(requests.size(), CommitOutcome::committed);
  for (std::size_t r = 0; r < requests.size(); ++r) {
    try {
      outcomes[r] = store.commit_many({requests[r]}).front();
    } catch (const CommitRejected& e) {
      results[wave[requested[r]]].failed = true;
      results[wave[requested[r]]].error = e.what();
    }
  }
  return outcomes;
}

}  // namespace

std::vector<WorkResult> commit_batch(Store& store, const std::vector<WorkItem>& items, Metrics* metrics) {
  std::vector<WorkResult> results(items.size());
  // Wave k holds the k-th item of each lead, so no wave has two items for one lead.
  std::vector<std::vector<std::size_t>> waves;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::size_t wave = seen[items[i].lead]++;
    if (waves.size() <= wave) waves.resize(wave + 1);
    waves[wave].push_back(i);
  }
  for (const auto& wave : waves) {
    std::vector<std::string> leads;
    leads.reserve(wave.size());
    for (std::size_t i : wave) leads.push_back(items[i].lead);
    const std::vector<LeadSnapshot> snapshots = store.load_leads(leads);

    std::vector<Transition> transitions(wave.size());
    std::vector<CommitRequest> requests;
    std::vector<std::size_t> requested;  // index into wave
    for (std::size_t k = 0; k < wave.size(); ++k) {
      const WorkItem& item = items[wave[k]];
      try {
        transitions[k] = item.compute(snapshots[k]);
      } catch (const std::exception& e) {
        results[wave[k]].failed = true;
        results[wave[k]].error = e.what();
        continue;
      }
      requests.push_back({&snapshots[k], &transitions[k], item.stream_id, item.event_id, item.from_inbox, item.front_door});
      requested.push_back(k);
    }
    for (const CommitRequest& request : requests) write_suppressions(store, *request.transition);
    const std::vector<CommitOutcome> outcomes = commit_isolating(store, requests, requested, wave, results);
    for (std::size_t r = 0; r < outcomes.size(); ++r) {
      const std::size_t index = wave[requested[r]];
      if (results[index].failed) continue;
      if (outcomes[r] != CommitOutcome::conflict) {
        results[index].outcome = outcomes[r];
        if (outcomes[r] == CommitOutcome::committed) {
          log_committed(transitions[requested[r]]);
          if (metrics) metrics->transitions_committed(1);
        }
        continue;
      }
      if (metrics) metrics->commit_conflicts(1);
      try {
        results[index].outcome = commit_alone(store, items[index]);
        if (metrics && results[index].outcome == CommitOutcome::committed) metrics->transitions_committed(1);
      } catch (const StoreUnavailable&) {
        throw;
      } catch (const std::exception& e) {
        results[index].failed = true;
        results[index].error = e.what();
      }
    }
  }
  return results;
}

}  // namespace nurture::engine
