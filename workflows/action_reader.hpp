#pragma once
// Internal to workflows/: the delivery actions (`email:`, `post:`, `webhook:`) as a workflow step and a broadcast
// both write them.

#include <string>

#include "workflows/model.hpp"
#include "workflows/yaml_reader.hpp"

namespace nurture::workflows {

// `default_email_connector`: the config's `defaults.email`, for an email that names no connector.
EmailStep read_email_action(YamlContext& context, const YAML::Node& node, const std::string& default_email_connector);
PostStep read_post_action(YamlContext& context, const YAML::Node& node);
WebhookStep read_webhook_action(YamlContext& context, const YAML::Node& node);

}  // namespace nurture::workflows
