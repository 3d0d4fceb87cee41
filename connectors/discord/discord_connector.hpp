#pragma once
// `type: discord`: a Discord webhook (`{"content": ...}`, answered 204), for sales alerts on hand-off. The text is
// the step's template when it names one, else a one-line summary of the lead.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory discord_connector_factory();
}
