#include "engine/runtime/pinned_versions.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nurture::engine {

WorkflowVersions pin_versions(Store& store, const workflows::Campaign& campaign) {
  WorkflowVersions versions;
  for (const auto& workflow : campaign.workflows) {
    const Store::PinnedWorkflow pinned = store.pin_workflow(workflow.id, workflow.source);
    for (const auto& [version, text] : pinned.versions) {
      if (version == pinned.current) continue;
      workflows::Diagnostics diagnostics;
      auto old = workflows::parse_workflow_text(text, fmt::format("{} (version {})", workflow.id, version),
                                                campaign.config.default_email_connector, diagnostics);
      if (workflows::has_errors(diagnostics)) {
        spdlog::warn("workflow {} version {} no longer loads ({}); its enrollments cannot go on",
                     workflow.id, version, diagnostics.front().format());
        continue;
      }
      versions.add(version, std::make_shared<const workflows::Workflow>(std::move(old)), false);
    }
    versions.add(pinned.current, std::make_shared<const workflows::Workflow>(workflow), true);
  }
  return versions;
}

}  // namespace nurture::engine
