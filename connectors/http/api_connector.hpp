#pragma once
// What every HTTP API connector shares: the `timeout_ms` key, secrets from the environment, and "send one JSON
// request, classify the answer". Requests go through the shared multi driver (http::Client).

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/http/email_api.hpp"
#include "connectors/http/http_client.hpp"

namespace nurture::connectors::http {

inline sdk::ConfigKey timeout_key() {
  return {"timeout_ms", sdk::ConfigKey::Type::integer, false, "30000", "give up on one request after this long (retry)"};
}

inline std::chrono::milliseconds timeout_of(const sdk::ConnectorConfig& config) {
  return std::chrono::milliseconds(config.integer("timeout_ms"));
}

// The provider id of a 2xx answer.
using IdOf = std::function<std::string(const Response&, const nlohmann::json& body)>;

inline IdOf json_field(std::string name) {
  return [name = std::move(name)](const Response&, const nlohmann::json& body) {
    if (!body.is_object() || !body.contains(name)) return std::string();
    return body[name].is_string() ? body[name].get<std::string>() : body[name].dump();
  };
}

// Sends `request` with a JSON body and answers `done` with the classified result.
inline void send_json(Request request, const nlohmann::json& body, std::string provider, IdOf id_of,
                      sdk::Completion done) {
  request.body = body.dump();
  request.headers.emplace_back("Content-Type", "application/json");
  Client::shared().perform(std::move(request), [provider = std::move(provider), id_of = std::move(id_of),
                                                done = std::move(done)](Response response) {
    const auto answer = nlohmann::json::parse(response.body, nullptr, false);
    done(classify(response, id_of ? id_of(response, answer) : std::string(), provider));
  });
}

inline nlohmann::json attrs_of(const sdk::Action& action) {
  auto attrs = nlohmann::json::parse(action.lead_attrs.empty() ? "{}" : action.lead_attrs, nullptr, false);
  return attrs.is_object() ? attrs : nlohmann::json::object();
}

inline std::string text_attr(const nlohmann::json& attrs, const std::string& name) {
  return attrs.contains(name) && attrs[name].is_string() ? attrs[name].get<std::string>() : std::string();
}

}  // namespace nurture::connectors::http
