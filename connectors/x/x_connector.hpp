#pragma once
// `type: x`: X API v2. A post is POST /2/tweets; a `direct` post is a direct message to the lead (attribute
// `x_user_id`) via POST /2/dm_conversations/with/{id}/messages. OAuth 2 user-context bearer token from the
// environment. X has no idempotency key: a send repeated after a crash can post twice (the duplicate window).
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory x_connector_factory();
}
