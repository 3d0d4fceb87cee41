#pragma once
// The admin API: on its own listener (admin.listen, loopback by default),
// only with `Authorization: Bearer <token>` (the token from admin.token_env; without one the API is off).
//   GET  /leads/{id}   the lead as `nurture lead show --json` gives it (404 when unknown)
//   POST /events       one event, the wire format of docs/events.md as a JSON object; 202, or 400 with the reason
//   POST /reload       validate and swap the campaign, as SIGHUP does; 202
// JSON in, JSON out.

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "engine/http/status_server.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

class AdminApi {
 public:
  AdminApi(std::string token, Store& store, std::function<void()> request_reload)
      : token_(std::move(token)), store_(store), request_reload_(std::move(request_reload)) {}

  std::optional<http::HttpAnswer> handle(const http::HttpCall& call);

 private:
  std::string token_;
  Store& store_;
  std::function<void()> request_reload_;
  std::mutex mutex_;
};

}  // namespace nurture::engine
