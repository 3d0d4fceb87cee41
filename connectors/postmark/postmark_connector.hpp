#pragma once
// `type: postmark`: Postmark's email API (POST /email, X-Postmark-Server-Token). The action id travels in
// `Metadata.action_id` (returned in Postmark's webhooks); the provider id is `MessageID`. Postmark's error code
// 406 (inactive recipient: bounced or complained before) is `suppressed`.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory postmark_connector_factory();
}
