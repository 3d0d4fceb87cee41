#include "engine/runtime/segment_evaluation.hpp"

#include <fmt/format.h>
#include <xxhash.h>

#include "engine/runtime/batch_commit.hpp"

namespace nurture::engine {

namespace {
constexpr int batch_size = 512;

bool membership_changes(const LeadSnapshot& before, const Transition& t) {
  return t.lead.segments != before.segments || t.lead.segments_check_ms != before.segments_check_ms;
}
}  // namespace

SegmentPass evaluate_segments(Store& store, const Interpreter& interpreter, const Clock& clock,
                              const std::function<bool(const SegmentPass&)>& progress, Metrics* metrics) {
  SegmentPass pass;
  store.scan_leads(batch_size, [&](std::vector<LeadSnapshot>& leads) {
    const TimePoint now = clock.now();
    std::vector<WorkItem> work;
    for (const auto& lead : leads) {
      // Most leads change nothing: only those that do are committed (and computed again from what is stored).
      if (!membership_changes(lead, interpreter.reevaluate_segments(lead, now))) continue;
      work.push_back({lead.id, [&interpreter, now](const LeadSnapshot& current) {
                        return interpreter.reevaluate_segments(current, now);
                      }});
    }
    const auto results = commit_batch(store, work, metrics);
    for (const auto& result : results) pass.changed += !result.failed && result.outcome == CommitOutcome::committed;
    pass.leads += static_cast<long>(leads.size());
    return !progress || progress(pass);
  });
  return pass;
}

std::string segments_fingerprint(const workflows::Campaign& campaign) {
  if (campaign.segments.empty()) return {};
  const std::string& text = campaign.segments_source;
  return fmt::format("{:016x}", XXH64(text.data(), text.size(), 0));
}

}  // namespace nurture::engine
