#pragma once
// JSON Schemas (draft 2020-12) of the workflow language, scoring.yaml and nurture.yaml, for editors (yaml-language-server)
// and for tools that generate campaigns. `nurture schema` prints them.

#include <string>

namespace nurture::workflows {

std::string workflow_schema();
std::string config_schema();
std::string scoring_schema();  // scoring.yaml: rules, decay, stages

}  // namespace nurture::workflows
