#pragma once
// The tracking endpoints the links in every email point to (templates/tracking.hpp), on tracking.listen:
//   GET  /t/c/{ref}/{sig}?u=URL   302 to URL; email.clicked (one per action and URL: unique clicks)
//   GET  /t/o/{ref}/{sig}.gif     a 1x1 GIF; email.opened (one per action)
//   GET  /u/{ref}/{sig}           a page with an Unsubscribe button (GET changes nothing: mail scanners fetch links)
//   POST /u/{ref}/{sig}           RFC 8058 one-click (or the button): lead.unsubscribed {channel: email}
// A link whose signature does not verify gets 400 and changes nothing. A click still redirects when Redis is away
// (the reader must reach the page); the event is then lost and logged.

#include <mutex>
#include <optional>

#include "engine/core/clock.hpp"
#include "engine/http/status_server.hpp"
#include "engine/store/store.hpp"
#include "templates/tracking.hpp"

namespace nurture::engine {

class TrackingEndpoints {
 public:
  // Events are stamped with `clock`'s time.
  TrackingEndpoints(templates::TrackingLinks links, Store& store, const Clock& clock)
      : links_(std::move(links)), store_(store), clock_(clock) {}
  std::optional<http::HttpAnswer> handle(const http::HttpCall& call);

 private:
  void raise(const std::string& type, const templates::TrackingRef& ref, nlohmann::json props, const std::string& id);
  templates::TrackingLinks links_;
  Store& store_;
  const Clock& clock_;
  std::mutex mutex_;
};

}  // namespace nurture::engine
