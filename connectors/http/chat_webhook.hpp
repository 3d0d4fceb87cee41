#pragma once
// Chat incoming webhooks (slack, discord): one JSON field of text, for sales alerts. The text is the step's template
// when it names one, else a one-line summary of the lead.
#include <string>

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors::http {

std::string chat_text(const sdk::Action& action);

// A factory for a chat webhook that posts `{field: text}` to the URL held in the environment variable `url_env`.
sdk::ConnectorFactory chat_webhook_factory(std::string type, std::string field, std::string doc);

}  // namespace nurture::connectors::http
