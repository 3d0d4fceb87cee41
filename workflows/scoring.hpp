#pragma once
// scoring.yaml: rules that turn events and attributes into points, decay, stages.

#include <optional>
#include <string>
#include <vector>

#include "workflows/condition.hpp"
#include "workflows/diagnostic.hpp"

namespace nurture::workflows {

struct ScoreRule {
  std::string name;          // for score breakdowns: `event:email.clicked` or `attr:job_title`
  std::string event;         // an event rule: this type...
  std::vector<PropTest> where;  // ...with these props
  std::string attr;          // an attribute rule (once per lead): this attribute...
  std::optional<Comparison> test;  // ...satisfying this
  double points = 0;
};

struct Stage {
  std::string name;
  Condition condition;
};

struct Scoring {
  std::vector<ScoreRule> rules;
  std::optional<Duration> half_life;
  std::vector<Stage> stages;  // ordered, lowest first

  // Position of `stage` in the list; nullopt when it is not one of them.
  std::optional<std::size_t> stage_rank(const std::string& stage) const;
};

}  // namespace nurture::workflows
