#pragma once
// `type: webhook`: POSTs the step's JSON body to `url`, for
// CRMs and Zapier-like tools. Signed and replay-safe: `X-Nurture-Timestamp` (unix seconds) and
// `X-Nurture-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp + "." + body))`; receivers reject old timestamps.
// `Idempotency-Key: action_id`.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory webhook_connector_factory();
// The signature header value for `body` sent at `timestamp` (exposed for receivers' tests).
std::string webhook_signature(const std::string& secret, const std::string& timestamp, const std::string& body);
}
