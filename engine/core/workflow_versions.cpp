#include "engine/core/workflow_versions.hpp"

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

}  // namespace nurture::engine
