// segments.yaml -> named conditions, and the checks of `segment:` references across the campaign (names that
// exist, no segment that contains itself).

#include <functional>
#include <map>

#include <fmt/format.h>

#include "workflows/campaign.hpp"
#include "workflows/condition_parser.hpp"

namespace nurture::workflows {

const Segment* Campaign::segment(std::string_view name) const {
  for (const auto& s : segments) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

tl::expected<std::vector<Segment>, Diagnostics> load_segments(const std::filesystem::path& path,
                                                              const std::string& shown_name) {
  Diagnostics diagnostics;
  auto root = load_yaml_file(path.string(), shown_name, diagnostics);
  if (!root) return tl::unexpected(std::move(diagnostics));
  YamlContext context(shown_name, diagnostics);
  std::vector<Segment> segments;
  if (root->IsNull()) return segments;
  if (!root->IsMap()) {
    context.error(*root, "segments.yaml is a map of segment names to conditions",
                  "e.g. `engaged_30d: { event: email.clicked, within: 30d }`");
    return tl::unexpected(std::move(diagnostics));
  }
  for (const auto& entry : *root) {
    const std::string name = entry.first.as<std::string>("");
    if (!is_segment_name(name)) {
      context.error(entry.first, fmt::format("\"{}\" is not a segment name", name),
                    "lower-case letters, digits, `_` and `-`, at most 64");
      continue;
    }
    if (auto condition = parse_condition(context, entry.second)) segments.push_back({name, std::move(*condition)});
  }
  std::sort(segments.begin(), segments.end(), [](const Segment& a, const Segment& b) { return a.name < b.name; });
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return segments;
}

namespace {

void check_names(const Campaign& campaign, const Condition& condition, Diagnostics& diagnostics) {
  for_each_term(condition, [&](const ConditionTerm& term) {
    const auto* test = std::get_if<SegmentTest>(&term);
    if (!test || campaign.segment(test->name)) return;
    diagnostics.push_back({Severity::error, test->where, fmt::format("no segment \"{}\"", test->name),
                           campaign.segments.empty() ? "define it in segments.yaml"
                                                     : "define it in segments.yaml, or use one defined there"});
  });
}

// A segment that contains itself, directly or through others, has no membership to compute.
void check_cycles(const Campaign& campaign, Diagnostics& diagnostics) {
  std::map<std::string, int> state;  // 1: being visited, 2: done
  std::function<void(const Segment&, std::vector<std::string>&)> visit = [&](const Segment& segment,
                                                                            std::vector<std::string>& path) {
    state[segment.name] = 1;
    path.push_back(segment.name);
    for_each_term(segment.condition, [&](const ConditionTerm& term) {
      const auto* test = std::get_if<SegmentTest>(&term);
      const Segment* next = test ? campaign.segment(test->name) : nullptr;
      if (!next) return;
      if (state[next->name] == 1) {
        diagnostics.push_back({Severity::error, test->where,
                               fmt::format("segment \"{}\" contains itself ({} -> {})", next->name,
                                           fmt::join(path, " -> "), next->name),
                               "a segment may name other segments, but not in a circle"});
      } else if (state[next->name] == 0) {
        visit(*next, path);
      }
    });
    path.pop_back();
    state[segment.name] = 2;
  };
  for (const auto& segment : campaign.segments) {
    std::vector<std::string> path;
    if (state[segment.name] == 0) visit(segment, path);
  }
}

}  // namespace

void check_segment_references(const Campaign& campaign, const std::vector<Workflow>& workflows,
                              Diagnostics& diagnostics) {
  for (const auto& segment : campaign.segments) check_names(campaign, segment.condition, diagnostics);
  for (const auto& stage : campaign.scoring.stages) check_names(campaign, stage.condition, diagnostics);
  for (const auto& workflow : workflows) {
    for_each_condition(workflow, [&](const Condition& c) { check_names(campaign, c, diagnostics); });
  }
  check_cycles(campaign, diagnostics);
}

}  // namespace nurture::workflows
