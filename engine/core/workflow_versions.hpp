#pragma once
// Workflow versions: an enrollment pins the version it started on; a reload adds a version
// and makes it current for new enrollments. A waiting enrollment moves to the current version when it is next
// touched, if the step it waits at still exists there (by step id); otherwise it finishes on its own version.

#include <map>
#include <memory>
#include <string>

#include "workflows/campaign.hpp"
#include "workflows/model.hpp"

namespace nurture::engine {

class WorkflowVersions {
 public:
  // Every workflow of the campaign as version 1: simulate and tests, where nothing was pinned before.
  static WorkflowVersions of(const std::vector<workflows::Workflow>& workflows);

  void add(int version, std::shared_ptr<const workflows::Workflow> workflow, bool current);
  const workflows::Workflow* find(const std::string& id, int version) const;
  // The version new enrollments get; 0 when the workflow is no longer in the campaign.
  int current(const std::string& id) const;
  const workflows::Workflow* current_workflow(const std::string& id) const { return find(id, current(id)); }
  // Every loaded version of every workflow (old ones too), for what must consider all of them.
  std::vector<const workflows::Workflow*> all() const;

 private:
  std::map<std::string, std::map<int, std::shared_ptr<const workflows::Workflow>>> by_id_;
  std::map<std::string, int> current_;
};

}  // namespace nurture::engine
