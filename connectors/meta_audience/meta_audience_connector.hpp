#pragma once
// `type: meta_audience`: adds the lead to (or, with `operation: remove`, removes it from) a Meta Custom Audience,
// for paid retargeting: POST/DELETE /{version}/{audience_id}/users with the SHA-256 of the normalised email
// (trimmed, lower case), schema EMAIL_SHA256. The Marketing API's `session` (id derived from the action id) makes a
// repeated send the same upload.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory meta_audience_connector_factory();
// Lower-case hex SHA-256 of the trimmed, lower-cased email (Meta's normalisation). Exposed for tests.
std::string meta_email_hash(const std::string& email);
}
