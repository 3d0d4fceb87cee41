#pragma once
// A workflow drawn as a graph (`nurture graph`): steps as nodes, every way forward as a labelled edge (goto,
// branch conditions and else, split weights, wait_for arrival and timeout).

#include <string>

#include "workflows/model.hpp"

namespace nurture::workflows {

std::string to_mermaid(const Workflow& workflow);
std::string to_dot(const Workflow& workflow);

// A short human reading of a condition: `event email.clicked at hello`, `attr.plan = pro`, `score >= 50`.
std::string describe(const Condition& condition);

}  // namespace nurture::workflows
