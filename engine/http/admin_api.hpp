#pragma once
// The admin API: on its own listener (admin.listen, loopback by default),
// only with `Authorization: Bearer <token>` (the token from admin.token_env; without one the API is off).
//   GET  /leads/{id}   the lead as `nurture lead show --json` gives it (404 when unknown)
//   POST /events       one event, the wire format of docs/events.md as a JSON object, its `attrs` typed as
//                      nurture.yaml's `attributes:` declares them; 202, or 400 with the reason
//   POST /reload       validate and swap the campaign, as SIGHUP does, and answer with the outcome: 200 and the
//                      version of each workflow, or 422 and the errors (the previous campaign keeps running)
//   GET  /workflows    each workflow of the campaign, running or paused (since when)
//   POST /workflows/{id}/pause    as `nurture workflow pause`: 200 and its state, 404 for an unknown workflow
//   POST /workflows/{id}/resume   as `nurture workflow resume`: 200 and how many held timers and sends go on
// JSON in, JSON out.

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/http/status_server.hpp"
#include "engine/store/store.hpp"
#include "workflows/attributes.hpp"

namespace nurture::engine {

// What a reload came to: applied (the versions) or refused (the errors).
struct ReloadAnswer {
  bool applied = false;
  nlohmann::json detail;
};

class AdminApi {
 public:
  // `reload` reloads (or has the daemon reload) and returns the outcome.
  // `workflows` gives the ids of the campaign's workflows as they are now, `attributes` its declared attributes.
  AdminApi(std::string token, Store& store, std::function<ReloadAnswer()> request_reload,
           std::function<std::vector<std::string>()> workflows,
           std::function<workflows::AttributeTypes()> attributes = [] { return workflows::AttributeTypes{}; })
      : token_(std::move(token)),
        store_(store),
        request_reload_(std::move(request_reload)),
        workflows_(std::move(workflows)),
        attributes_(std::move(attributes)) {}

  std::optional<http::HttpAnswer> handle(const http::HttpCall& call);

 private:
  std::string token_;
  Store& store_;
  std::function<ReloadAnswer()> request_reload_;
  std::function<std::vector<std::string>()> workflows_;
  std::function<workflows::AttributeTypes()> attributes_;
  std::mutex mutex_;
  std::optional<http::HttpAnswer> workflow_call(const http::HttpCall& call, const std::string& path);
};

}  // namespace nurture::engine
