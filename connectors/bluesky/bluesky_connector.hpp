#pragma once
// `type: bluesky`: AT Protocol. A session (com.atproto.server.createSession with the handle and an app password,
// kept and renewed when it expires), then com.atproto.repo.createRecord of an app.bsky.feed.post with facets for
// links and @mentions (byte ranges of the UTF-8 text; mentions resolved to DIDs). The record key is the action id,
// so a repeated send is the same record, not a second post.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory bluesky_connector_factory();

// Link facets and the mentions to resolve, by UTF-8 byte range. Exposed for tests.
struct BlueskySpan {
  std::size_t begin = 0, end = 0;  // bytes
  std::string text;                // the URL, or the handle without '@'
  bool mention = false;
};
std::vector<BlueskySpan> bluesky_spans(const std::string& text);
}
