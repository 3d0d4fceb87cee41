#include "engine/http/admin_api.hpp"

#include <strings.h>

#include <algorithm>

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "engine/core/clock.hpp"
#include "engine/core/event.hpp"
#include "engine/runtime/report.hpp"
#include "templates/tracking.hpp"

namespace nurture::engine {

namespace {

http::HttpAnswer json_answer(int status, const nlohmann::ordered_json& body) {
  http::HttpAnswer answer{status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n", "application/json"};
  answer.headers["Cache-Control"] = "no-store";
  return answer;
}

http::HttpAnswer error(int status, const std::string& message) { return json_answer(status, {{"error", message}}); }

// The event's `attrs` as their declarations type them ("139" for a declared number becomes 139).
tl::expected<void, std::string> typed_attributes(StreamFields& fields, const workflows::AttributeTypes& declared) {
  const auto attrs = fields.find("attrs");
  if (declared.empty() || attrs == fields.end()) return {};
  auto parsed = nlohmann::json::parse(attrs->second, nullptr, false);
  if (!parsed.is_object()) return {};  // parse_event says what is wrong with it
  if (auto typed = workflows::type_attributes(declared, parsed); !typed) return typed;
  attrs->second = parsed.dump();
  return {};
}

}  // namespace

std::optional<http::HttpAnswer> AdminApi::handle(const http::HttpCall& call) {
  auto authorization = call.headers.find("authorization");
  // RFC 7235: the scheme is case-insensitive ("bearer", "Bearer"); the token is compared in constant time.
  const auto presented = [&]() -> std::string {
    if (authorization == call.headers.end()) return {};
    const std::string& value = authorization->second;
    if (value.size() < 7 || strncasecmp(value.c_str(), "bearer ", 7) != 0) return {};
    return value.substr(value.find_first_not_of(' ', 7) == std::string::npos ? value.size()
                                                                            : value.find_first_not_of(' ', 7));
  }();
  if (token_.empty() || presented.size() != token_.size() ||
      CRYPTO_memcmp(presented.data(), token_.data(), token_.size()) != 0) {
    http::HttpAnswer refused = error(401, "a bearer token is required (admin.token_env)");
    refused.headers["WWW-Authenticate"] = "Bearer";
    return refused;
  }
  const std::string path = call.target.substr(0, call.target.find('?'));
  try {
    std::lock_guard lock(mutex_);
    if (path.rfind("/leads/", 0) == 0 && path.size() > 7) {
      if (call.method != "GET") return error(405, "GET only");
      const std::string id = templates::percent_decode(path.substr(7));
      const LeadSnapshot lead = store_.load_lead(id);
      if (lead.version == 0) return error(404, "no lead \"" + id + "\"");
      return json_answer(200, lead_profile_json(lead, store_));
    }
    if (path == "/events") {
      if (call.method != "POST") return error(405, "POST only");
      auto fields = fields_from_json_object(call.body);
      if (!fields) {
        return error(400, "the body must be a JSON object: {\"type\",\"lead\",\"attrs\",\"props\",\"at\",\"id\"}; " +
                              fields.error());
      }
      if (auto typed = typed_attributes(*fields, attributes_()); !typed) return error(400, typed.error());
      if (auto checked = parse_event(*fields, "0-0"); !checked) return error(400, checked.error());
      store_.add_event(*fields);
      return json_answer(202, {{"accepted", true}});
    }
    if (path == "/reload") {
      if (call.method != "POST") return error(405, "POST only");
      spdlog::info("admin API: reload requested");
      ReloadAnswer answer = request_reload_();
      return json_answer(answer.applied ? 200 : 422, std::move(answer.detail));
    }
    if (path == "/workflows" || path.rfind("/workflows/", 0) == 0) return workflow_call(call, path);
  } catch (const StoreUnavailable& e) {
    return error(503, std::string("store unavailable: ") + e.what());
  }
  return error(404,
               "not found: GET /leads/{id}, POST /events, POST /reload, GET /workflows, "
               "POST /workflows/{id}/pause|resume");
}

// GET /workflows, POST /workflows/{id}/pause|resume (the caller holds the lock).
std::optional<http::HttpAnswer> AdminApi::workflow_call(const http::HttpCall& call, const std::string& path) {
  const std::vector<std::string> known = workflows_();
  const auto state_of = [&, paused = store_.paused_workflows()](const std::string& workflow) {
    nlohmann::ordered_json state{{"workflow", workflow}};
    const auto since = paused.find(workflow);
    state["state"] = since == paused.end() ? "running" : "paused";
    state["paused_since"] = since == paused.end() ? nlohmann::ordered_json(nullptr)
                                                  : nlohmann::ordered_json(format_rfc3339(since->second));
    return state;
  };
  if (path == "/workflows") {
    if (call.method != "GET") return error(405, "GET only");
    nlohmann::ordered_json all = nlohmann::ordered_json::array();
    for (const auto& workflow : known) all.push_back(state_of(workflow));
    return json_answer(200, {{"workflows", all}});
  }
  const std::string rest = path.substr(std::string("/workflows/").size());
  const auto slash = rest.rfind('/');
  const std::string workflow = slash == std::string::npos ? rest : templates::percent_decode(rest.substr(0, slash));
  const std::string verb = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (verb != "pause" && verb != "resume") return error(404, "POST /workflows/{id}/pause or /workflows/{id}/resume");
  if (call.method != "POST") return error(405, "POST only");
  if (std::find(known.begin(), known.end(), workflow) == known.end()) {
    return error(404, "no workflow \"" + workflow + "\"");
  }
  if (verb == "pause") {
    spdlog::info("admin API: pausing workflow {}", workflow);
    store_.pause_workflow(workflow, RealClock().now());
    const auto since = store_.paused_workflows();
    return json_answer(200, {{"workflow", workflow},
                             {"state", "paused"},
                             {"paused_since", since.count(workflow) ? format_rfc3339(since.at(workflow)) : ""}});
  }
  spdlog::info("admin API: resuming workflow {}", workflow);
  const Store::Released released = store_.resume_workflow(workflow);
  nlohmann::ordered_json answer{{"workflow", workflow}, {"state", "running"}};
  answer["released"] = {{"timers", released.timers}, {"actions", released.actions}};
  return json_answer(200, answer);
}

}  // namespace nurture::engine
