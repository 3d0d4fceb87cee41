#pragma once
// `type: linkedin`: the Posts API (POST /rest/posts, LinkedIn-Version header, Rest.li 2.0) as `author` (an
// organization or person URN from config). The post id comes back in `x-restli-id`. No idempotency key.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory linkedin_connector_factory();
}
