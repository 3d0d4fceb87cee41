#include "engine/runtime/broadcast_scheduler.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "engine/core/calendar.hpp"
#include "engine/core/identity.hpp"
#include "engine/runtime/batch_commit.hpp"

namespace nurture::engine {

namespace {
constexpr std::size_t batch_size = 256;
constexpr int scan_batch = 1000;
constexpr const char* latest_zone = "Etc/GMT+12";  // UTC-12: where a day ends last

std::string meta_field(const workflows::Broadcast& broadcast, const char* what) {
  return "broadcast:" + broadcast.id + ":" + what;
}

// The last instant the broadcast's first part can be due (before throttle).
TimePoint broadcast_closes(const workflows::Broadcast& broadcast, const std::string& default_zone) {
  if (broadcast.lead_timezone) return broadcast_time(broadcast, latest_zone);
  return broadcast_opens(broadcast, default_zone);
}
}  // namespace

void BroadcastScheduler::set_partitions(std::vector<int> partitions, int engines) {
  if (partitions == partitions_ && engines == engines_) return;
  partitions_ = std::move(partitions);
  engines_ = std::max(engines, 1);
  all_partitions_ = static_cast<int>(partitions_.size()) == store_.partitions();
  progress_.clear();  // our share changed: plan it again (leads already given a broadcast are left out)
}

int BroadcastScheduler::poll() {
  const auto& campaign = interpreter_.campaign();
  if (campaign.broadcasts.empty()) return 0;
  const TimePoint now = clock_.now();
  if (last_look_ == TimePoint{} || now - last_look_ >= std::chrono::seconds(1)) {
    last_look_ = now;
    for (const auto& broadcast : campaign.broadcasts) plan(broadcast, now);
  }
  int sent = 0;
  for (const auto& broadcast : campaign.broadcasts) {
    auto it = progress_.find(broadcast.id);
    if (it != progress_.end()) sent += send_due(broadcast, it->second, now);
  }
  return sent;
}

// Plans the part of the broadcast that is due and not planned by this engine yet.
void BroadcastScheduler::plan(const workflows::Broadcast& broadcast, TimePoint now) {
  const auto& config = interpreter_.campaign().config;
  if (paused_ && paused_->contains(broadcast_workflow(broadcast.id))) {
    progress_.erase(broadcast.id);  // cancelled: plan nothing more
    return;
  }
  if (now < broadcast_opens(broadcast, config.default_timezone)) return;
  if (!store_.read_meta(meta_field(broadcast, "done")).empty()) return;
  auto it = progress_.find(broadcast.id);
  const bool planned_first = it != progress_.end();
  if (planned_first && (it->second.part == BroadcastPart::rest || !broadcast.split)) return;
  std::optional<TimePoint> decide;
  if (broadcast.split) {
    if (const auto stored = stored_number(store_.read_meta(meta_field(broadcast, "decide")))) {
      decide = from_unix_ms(*stored);
    }
  }
  const bool rest = decide && now >= *decide;
  if (planned_first && !rest) return;  // the test is under way
  if (!planned_first && !rest && now > broadcast_closes(broadcast, config.default_timezone) + max_broadcast_lateness &&
      store_.workflow_counters(broadcast_workflow(broadcast.id)).empty()) {
    spdlog::warn("broadcast {} is more than a day late and is passed over", broadcast.id);
    store_.write_meta(meta_field(broadcast, "done"), "late");
    return;
  }
  const BroadcastPart part = rest ? BroadcastPart::rest : BroadcastPart::first;
  const int variant = rest ? winner(broadcast) : -1;
  Progress progress;
  progress.part = part;
  progress.sends = plan_broadcast(broadcast, recipients(broadcast), part, variant, rest ? std::max(now, *decide) : now,
                                  config.default_timezone, engines_);
  if (broadcast.split && !decide) decision_time(broadcast, progress.sends, now);
  spdlog::info("broadcast {}: {} send(s) planned{}", broadcast.id, progress.sends.size(),
               !broadcast.split ? "" : rest ? fmt::format(" for the rest, with variant {}", variant + 1) : " for the test");
  progress_[broadcast.id] = std::move(progress);
}

// When the winner is picked: `wait` after the last test send. The first engine to plan says it for all of them.
TimePoint BroadcastScheduler::decision_time(const workflows::Broadcast& broadcast,
                                            const std::vector<BroadcastSend>& test_sends, TimePoint now) {
  const TimePoint decide = (test_sends.empty() ? now : test_sends.back().due) + broadcast.split->wait;
  if (const auto stored = stored_number(store_.read_meta(meta_field(broadcast, "decide")))) {
    return from_unix_ms(*stored);
  }
  store_.write_meta(meta_field(broadcast, "decide"), std::to_string(to_unix_ms(decide)));
  return decide;
}

int BroadcastScheduler::winner(const workflows::Broadcast& broadcast) {
  const auto stored = stored_number(store_.read_meta(meta_field(broadcast, "winner")));
  if (stored && *stored >= 0 && static_cast<std::size_t>(*stored) < broadcast.split->templates.size()) {
    return static_cast<int>(*stored);
  }
  const int picked = pick_winner(broadcast, store_.workflow_counters(broadcast_workflow(broadcast.id)));
  store_.write_meta(meta_field(broadcast, "winner"), std::to_string(picked));
  spdlog::info("broadcast {}: variant {} ({}) won the test and goes to the rest", broadcast.id, picked + 1,
               broadcast.template_for(picked));
  return picked;
}

// The leads of this engine's partitions in the segment now and not given the broadcast yet.
std::vector<BroadcastRecipient> BroadcastScheduler::recipients(const workflows::Broadcast& broadcast) {
  std::vector<BroadcastRecipient> found;
  const int partitions = store_.partitions();
  store_.scan_leads(scan_batch, [&](std::vector<LeadSnapshot>& leads) {
    for (const auto& lead : leads) {
      if (!lead.segments.count(broadcast.segment) || lead.broadcasts.count(broadcast.id)) continue;
      if (!all_partitions_ && !std::binary_search(partitions_.begin(), partitions_.end(),
                                                  partition_of(lead.id, partitions))) {
        continue;
      }
      const auto zone = lead.attrs.find("timezone");
      const bool valid = zone != lead.attrs.end() && zone->is_string() && is_valid_timezone(zone->get<std::string>());
      found.push_back({lead.id, valid ? zone->get<std::string>() : std::string()});
    }
    return true;
  });
  return found;
}

int BroadcastScheduler::send_due(const workflows::Broadcast& broadcast, Progress& progress, TimePoint now) {
  std::vector<WorkItem> work;
  const std::size_t from = progress.next;
  while (progress.next < progress.sends.size() && progress.sends[progress.next].due <= now &&
         work.size() < batch_size) {
    const BroadcastSend& send = progress.sends[progress.next++];
    work.push_back({send.lead, [this, &broadcast, &send, now](const LeadSnapshot& lead) {
                      return interpreter_.send_broadcast(lead, broadcast, send.variant, now);
                    }});
  }
  if (work.empty()) return 0;
  try {
    const auto results = commit_batch(store_, work, metrics_);
    for (std::size_t i = 0; i < results.size(); ++i) {
      if (results[i].failed) {
        spdlog::error("broadcast {} to {} failed: {}", broadcast.id, work[i].lead, results[i].error);
      }
    }
  } catch (const StoreUnavailable&) {
    progress.next = from;  // not (all) committed: again on the next pass; a lead given it meanwhile is skipped
    throw;
  }
  const bool finished = progress.next == progress.sends.size();
  if (finished && (!broadcast.split || progress.part == BroadcastPart::rest)) mark_sent(broadcast, now);
  return static_cast<int>(work.size());
}

// This engine's partitions are done (`broadcast:ID:done:P` each); when every partition is, by whichever engine, the
// broadcast is sent. The last engine to finish sees them all.
void BroadcastScheduler::mark_sent(const workflows::Broadcast& broadcast, TimePoint now) {
  const int partitions = store_.partitions();
  for (int p : partitions_or_all(all_partitions_ ? std::vector<int>{} : partitions_, partitions)) {
    store_.write_meta(fmt::format("broadcast:{}:done:{}", broadcast.id, p), "1");
  }
  for (int p = 0; p < partitions; ++p) {
    if (store_.read_meta(fmt::format("broadcast:{}:done:{}", broadcast.id, p)).empty()) return;
  }
  store_.write_meta(meta_field(broadcast, "done"), std::to_string(to_unix_ms(now)));
  spdlog::info("broadcast {} is sent", broadcast.id);
}

}  // namespace nurture::engine
