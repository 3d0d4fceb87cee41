#pragma once
// The typed, immutable model of a workflow (spec/workflow.md). The loader builds it; the engine interprets it.
// Nothing here knows YAML.

#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "workflows/diagnostic.hpp"
#include "workflows/duration.hpp"

namespace nurture::workflows {

struct EmailStep {
  std::string template_name;
  std::string connector;  // resolved: the step's own, else config `defaults.email`
  std::string to;         // empty: the lead's `email` attribute
  SourceLocation where;
};

struct WaitStep {
  Duration duration{};
};

using StepAction = std::variant<EmailStep, WaitStep>;

struct Step {
  std::string id;           // given, or `step-N` (1-based position)
  StepAction action;
  std::string goto_target;  // empty: fall through to the next step
  SourceLocation where;

  // The action key as written in YAML: "email", "wait", ...
  std::string_view kind() const;
};

struct Trigger {
  std::string event;
};

struct Workflow {
  std::string id;
  std::string name;
  std::string description;
  Trigger trigger;
  std::vector<Step> steps;
  SourceLocation where;

  std::optional<std::size_t> step_index(std::string_view step_id) const;
  // Where execution goes after step `index` ran: its goto, else the next step; nullopt past the end.
  std::optional<std::size_t> next_after(std::size_t index) const;
  // True when some goto leads back to an earlier step or itself, so a step can be reached twice.
  bool may_revisit() const;
};

}  // namespace nurture::workflows
