#pragma once
// `type: slack`: a Slack incoming webhook (`{"text": ...}`), for sales alerts on hand-off. The text is the step's
// template when it names one, else a one-line summary of the lead.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory slack_connector_factory();
}
