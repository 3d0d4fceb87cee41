#pragma once
// `type: mailgun`: Mailgun Messages API (POST /v3/DOMAIN/messages, form fields, Basic auth `api:KEY`). The action
// id travels as the custom variable `v:action_id` (returned in Mailgun's webhooks); the provider id is `id`.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory mailgun_connector_factory();
}
