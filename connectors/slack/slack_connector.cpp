#include "connectors/slack/slack_connector.hpp"

#include "connectors/http/chat_webhook.hpp"

namespace nurture::connectors {

// Slack incoming webhooks take {"text": ...} and answer 200 "ok".
sdk::ConnectorFactory slack_connector_factory() {
  return http::chat_webhook_factory("slack", "text", "Posts to a Slack incoming webhook.");
}

}  // namespace nurture::connectors
