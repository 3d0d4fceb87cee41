#pragma once
// `type: sendgrid`: SendGrid v3 Mail Send (POST /v3/mail/send, Bearer key). The action id travels as
// `custom_args.action_id`, which SendGrid returns in its event webhook; the provider id is X-Message-Id.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory sendgrid_connector_factory();
}
