#include "engine/runtime/batch_commit.hpp"

#include <deque>
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
      spdlog::info("stage lead={} from={} to={} score={}", line.lead, line.detail().from.value_or("none"), line.detail().to, line.detail().score);
    } else if (line.kind == "skipped") {
      spdlog::info("skipped lead={} workflow={} step={} reason={}", line.lead, line.workflow, line.step, line.detail().reason);
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

// Commits the batch; when storage rejects it (one poison item can fail a whole script call), commits each item
// alone so that only the item at fault fails and the rest go through.
std::vector<CommitOutcome> commit_isolating(Store& store, const std::vector<CommitRequest>& requests,
                                            const std::vector<std::size_t>& requested,
                                            std::vector<WorkResult>& results) {
  try {
    return store.commit_many(requests);
  } catch (const CommitRejected&) {
  }
  std::vector<CommitOutcome> outcomes(requests.size(), CommitOutcome::committed);
  for (std::size_t r = 0; r < requests.size(); ++r) {
    try {
      outcomes[r] = store.commit_many({requests[r]}).front();
    } catch (const CommitRejected& e) {
      results[requested[r]].failed = true;
      results[requested[r]].error = e.what();
    }
  }
  return outcomes;
}

// The lead as a committed transition leaves it: what the next item of the same lead is computed from.
LeadSnapshot state_after(const LeadSnapshot& before, const Transition& transition, const WorkItem& item) {
  LeadSnapshot after = transition.lead;
  after.version = before.version + 1;
  if (const auto position = moved_position(item.stream_id, item.from_inbox, item.front_door)) {
    after.*position = item.stream_id;
  }
  return after;
}

}  // namespace

std::vector<WorkResult> commit_batch(Store& store, const std::vector<WorkItem>& items, Metrics* metrics) {
  std::vector<WorkResult> results(items.size());
  // Each lead is read once. Its items are computed in order, each from the state the one before leaves (the next
  // version, the entry applied), and all are committed in one call per partition. Should one not commit as
  // computed (a duplicate, a conflict, a refusal), the version the next one expects is not there: it conflicts
  // and is recomputed alone from what is stored, so the order of a lead's items holds as if committed one by one.
  std::map<std::string, std::size_t> lead_index;
  std::vector<std::string> leads;
  std::vector<std::size_t> items_left;  // per lead
  for (const WorkItem& item : items) {
    const auto [it, added] = lead_index.try_emplace(item.lead, leads.size());
    if (added) {
      leads.push_back(item.lead);
      items_left.push_back(0);
    }
    ++items_left[it->second];
  }
  const std::vector<LeadSnapshot> loaded = store.load_leads(leads);
  std::vector<const LeadSnapshot*> current(leads.size());
  for (std::size_t l = 0; l < leads.size(); ++l) current[l] = &loaded[l];
  std::deque<LeadSnapshot> chained;  // states after an earlier item of the batch (stable addresses)
  std::vector<Transition> transitions(items.size());
  std::vector<CommitRequest> requests;
  std::vector<std::size_t> requested;  // index into items
  for (std::size_t i = 0; i < items.size(); ++i) {
    const WorkItem& item = items[i];
    const std::size_t l = lead_index[item.lead];
    --items_left[l];
    try {
      transitions[i] = item.compute(*current[l]);
    } catch (const std::exception& e) {
      results[i].failed = true;
      results[i].error = e.what();
      continue;  // the lead's next item is computed from the same state
    }
    requests.push_back({current[l], &transitions[i], item.stream_id, item.event_id, item.from_inbox, item.front_door});
    requested.push_back(i);
    if (items_left[l] > 0) current[l] = &chained.emplace_back(state_after(*current[l], transitions[i], item));
  }
  for (const CommitRequest& request : requests) write_suppressions(store, *request.transition);
  const std::vector<CommitOutcome> outcomes = commit_isolating(store, requests, requested, results);
  for (std::size_t r = 0; r < outcomes.size(); ++r) {
    const std::size_t index = requested[r];
    if (results[index].failed) continue;
    if (outcomes[r] != CommitOutcome::conflict) {
      results[index].outcome = outcomes[r];
      if (outcomes[r] == CommitOutcome::committed) {
        log_committed(transitions[index]);
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
  return results;
}

}  // namespace nurture::engine
