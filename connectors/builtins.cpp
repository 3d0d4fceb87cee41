#include "connectors/builtins.hpp"

#include "connectors/webhook/webhook_connector.hpp"
#include "connectors/slack/slack_connector.hpp"
#include "connectors/discord/discord_connector.hpp"
#include "connectors/mastodon/mastodon_connector.hpp"
#include "connectors/bluesky/bluesky_connector.hpp"
#include "connectors/x/x_connector.hpp"
#include "connectors/linkedin/linkedin_connector.hpp"
#include "connectors/meta_audience/meta_audience_connector.hpp"
#include "connectors/hubspot/hubspot_connector.hpp"
#include "connectors/file/file_connector.hpp"
#include "connectors/mailgun/mailgun_connector.hpp"
#include "connectors/postmark/postmark_connector.hpp"
#include "connectors/sendgrid/sendgrid_connector.hpp"
#include "connectors/null/null_connector.hpp"
#include "connectors/smtp/smtp_connector.hpp"

namespace nurture::connectors {

void register_builtin_connectors(sdk::Registry& registry) {
  registry.add(file_connector_factory());
  registry.add(null_connector_factory());
  registry.add(smtp_connector_factory());
  registry.add(sendgrid_connector_factory());
  registry.add(mailgun_connector_factory());
  registry.add(postmark_connector_factory());
  registry.add(webhook_connector_factory());
  registry.add(slack_connector_factory());
  registry.add(discord_connector_factory());
  registry.add(mastodon_connector_factory());
  registry.add(bluesky_connector_factory());
  registry.add(x_connector_factory());
  registry.add(linkedin_connector_factory());
  registry.add(meta_audience_connector_factory());
  registry.add(hubspot_connector_factory());
}

}  // namespace nurture::connectors
