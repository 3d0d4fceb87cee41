#include "connectors/discord/discord_connector.hpp"

#include "connectors/http/chat_webhook.hpp"

namespace nurture::connectors {

// Discord webhooks take {"content": ...} and answer 204.
sdk::ConnectorFactory discord_connector_factory() {
  return http::chat_webhook_factory("discord", "content", "Posts to a Discord webhook.");
}

}  // namespace nurture::connectors
