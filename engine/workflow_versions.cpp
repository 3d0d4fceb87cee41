#include "engine/workflow_versions.hpp"

#include <spdlog/spdlog.h>

#include "engine/store/store.hpp"

namespace nurture::engine {

WorkflowVersions WorkflowVersions::of(const std::vector<workflows::Workflow>& workflows) {
  WorkflowVersions versions;
  for (const auto& workflow : workflows) {
    versions.add(1, std::make_shared<const workflows::Workflow>(workflow), true);
  }
  return versions;
}

void WorkflowVersions::add(int version, std::shared_ptr<const workflows::Workflow> workflow, bool current) {
  const std::string id = workflow->id;
  by_id_[id][version] = std::move(workflow);
  if (current) current_[id] = version;
}

const workflows::Workflow* WorkflowVersions::find(const std::string& id, int version) const {
  auto w = by_id_.find(id);
  if (w == by_id_.end()) return nullptr;
  auto v = w->second.find(version);
  return v == w->second.end() ? nullptr : v->second.get();
}

int WorkflowVersions::current(const std::string& id) const {
  auto it = current_.find(id);
  return it == current_.end() ? 0 : it->second;
}

std::vector<const workflows::Workflow*> WorkflowVersions::all() const {
  std::vector<const workflows::Workflow*> out;
  for (const auto& [id, versions] : by_id_) {
    for (const auto& [version, workflow] : versions) out.push_back(workflow.get());
  }
  return out;
}

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
