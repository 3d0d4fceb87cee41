#pragma once
// JSON Schemas (draft 2020-12) of the workflow language and of nurture.yaml, for editors (yaml-language-server)
// and for tools that generate campaigns. `nurture schema` prints them.

#include <string>

namespace nurture::workflows {

std::string workflow_schema();
std::string config_schema();

}  // namespace nurture::workflows
