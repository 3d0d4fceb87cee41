#pragma once
// `type: mastodon`: POST /api/v1/statuses with `Idempotency-Key: action_id`. Visibility from the post's front
// matter (public, unlisted, private, direct) or the `visibility` key; `direct` mentions the lead's handle (attribute
// `mastodon`, e.g. @ana@example.social) so only the lead sees it. `scheduled_at` makes a scheduled post.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory mastodon_connector_factory();
}
