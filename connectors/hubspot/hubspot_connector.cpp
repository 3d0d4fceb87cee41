#include "connectors/hubspot/hubspot_connector.hpp"

#include <fmt/format.h>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

namespace {

using json = nlohmann::json;

// nurture attribute -> HubSpot default contact property.
const std::pair<const char*, const char*> property_names[] = {
    {"email", "email"},     {"first_name", "firstname"}, {"last_name", "lastname"}, {"company", "company"},
    {"phone", "phone"},     {"website", "website"},      {"job_title", "jobtitle"}, {"city", "city"},
    {"country", "country"},
};

class HubspotConnector final : public sdk::Connector {
 public:
  HubspotConnector(std::string base_url, std::string token, std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), token_(std::move(token)), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    const json body = json::parse(action.json_body.empty() ? "{}" : action.json_body, nullptr, false);
    const json lead = body.is_object() ? body.value("lead", json::object()) : json::object();
    const json attrs = lead.value("attrs", json::object());
    const std::string email = attrs.contains("email") && attrs["email"].is_string() ? attrs["email"].get<std::string>() : "";
    if (email.empty()) {
      done(sdk::Result::failed("hubspot: the lead has no email to find the contact by"));
      return;
    }
    json properties = json::object();
    for (const auto& [ours, theirs] : property_names) {
      if (attrs.contains(ours) && attrs[ours].is_string()) properties[theirs] = attrs[ours];
    }
    if (body.value("kind", std::string()) == "handoff") properties["lifecyclestage"] = "marketingqualifiedlead";
    const json upsert = {{"inputs", {{{"idProperty", "email"}, {"id", email}, {"properties", properties}}}}};

    std::string note = fmt::format("nurture {} from {} / {}: score {}, stage {}", body.value("kind", std::string("webhook")),
                                   action.workflow, action.step, lead.value("score", json(0)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                   lead.contains("stage") && lead["stage"].is_string() ? lead["stage"].get<std::string>() : "-");
    if (body.contains("note") && body["note"].is_string()) note += ". " + body["note"].get<std::string>();
    if (body.contains("recent") && body["recent"].is_array() && !body["recent"].empty()) {
      note += ". Recent:";
      for (const auto& event : body["recent"]) note += " " + event.value("type", std::string()) + " (" + event.value("at", std::string()) + ")";
    }
    note += fmt::format(" [action {}]", action.action_id);
    const std::string at = body.value("at", std::string());

    http::Request request = base_request("/crm/v3/objects/contacts/batch/upsert");
    request.body = upsert.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    http::Request note_request = base_request("/crm/v3/objects/notes", false);
    http::Client::shared().perform(std::move(request), [note_request = std::move(note_request), note, at,
                                                        done = std::move(done)](http::Response response) mutable {
      const json answer = json::parse(response.body, nullptr, false);
      if (response.status < 200 || response.status >= 300) {
        done(http::classify(response, "", "hubspot"));
        return;
      }
      std::string contact;
      if (answer.is_object() && answer.contains("results") && answer["results"].is_array() && !answer["results"].empty()) {
        contact = answer["results"][0].value("id", std::string());
      }
      if (contact.empty()) {
        done(sdk::Result::retry(std::chrono::seconds(30), "hubspot: the upsert answered no contact id"));
        return;
      }
      const json note_body = {
          {"properties", {{"hs_timestamp", at}, {"hs_note_body", note}}},
          {"associations",
           {{{"to", {{"id", contact}}},
             {"types", {{{"associationCategory", "HUBSPOT_DEFINED"}, {"associationTypeId", 202}}}}}}},
      };
      http::send_json(std::move(note_request), note_body, "hubspot", http::json_field("id"), std::move(done));
    });
  }

 private:
  http::Request base_request(const std::string& path, bool json_type = true) const {
    http::Request request;
    request.url = base_url_ + path;
    request.timeout = timeout_;
    request.headers = {{"Authorization", "Bearer " + token_}};
    if (json_type) request.headers.emplace_back("Content-Type", "application/json");
    return request;
  }

  std::string base_url_, token_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory hubspot_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "hubspot";
  factory.doc = "Hands leads to HubSpot: upsert the contact, add a note (hand-off to sales).";
  factory.keys = {
      {"token_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the private app token"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://api.hubapi.com", "API base URL"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto token = http::required_secret(config, "token_env");
    if (!token) return tl::unexpected(token.error());
    return std::make_unique<HubspotConnector>(config.get("base_url"), std::move(*token), http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
