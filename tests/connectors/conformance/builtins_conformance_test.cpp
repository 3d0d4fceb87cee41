// Every built-in HTTP connector through the conformance kit, each with its provider's documented request shape.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "connectors/builtins.hpp"
#include "connectors/meta_audience/meta_audience_connector.hpp"
#include "connectors/plugin/plugin_loader.hpp"
#include "connectors/webhook/webhook_connector.hpp"
#include "tests/connectors/conformance/conformance.hpp"

using namespace nurture;
using nlohmann::json;
using testing::RecordedRequest;
using Requests = std::vector<RecordedRequest>;

namespace {

const sdk::Registry& registry() {
  static sdk::Registry r = [] {
    sdk::Registry registry;
    connectors::register_builtin_connectors(registry);
    return registry;
  }();
  return r;
}

sdk::Action base_action(sdk::Channel channel) {
  sdk::Action action;
  action.action_id = "9f86d081884c7d659a2feaa0c55ad015";
  action.lead_id = "L1";
  action.channel = channel;
  action.workflow = "welcome";
  action.step = "hello";
  action.lead_attrs = R"({"email":" Ana@Example.com ","first_name":"Ana","last_name":"Silva","company":"Initech",)"
                      R"("mastodon":"@ana@example.social","x_user_id":"1234567"})";
  return action;
}

sdk::Action email_action() {
  sdk::Action action = base_action(sdk::Channel::email);
  action.email.from = "Acme <hello@acme.example>";
  action.email.to = "ana@example.com";
  action.email.subject = "Hi";
  action.email.text = "Hi";
  action.email.html = "<p>Hi</p>";
  return action;
}

sdk::Action post_action(const std::string& text, const std::string& visibility = "") {
  sdk::Action action = base_action(sdk::Channel::social);
  action.post.text = text;
  action.post.visibility = visibility;
  return action;
}

sdk::Action handoff_action() {
  sdk::Action action = base_action(sdk::Channel::webhook);
  action.json_body = json{{"action_id", action.action_id},
                          {"kind", "handoff"},
                          {"at", "2026-03-02T08:00:00Z"},
                          {"workflow", "welcome"},
                          {"step", "hello"},
                          {"note", "asked for a demo"},
                          {"lead",
                           {{"id", "L1"},
                            {"attrs", {{"email", "ana@example.com"}, {"first_name", "Ana"}, {"company", "Initech"}}},
                            {"score", 72},
                            {"stage", "mql"}}},
                          {"recent", {{{"type", "page.viewed"}, {"at", "2026-03-01T10:00:00Z"}}}}}
                         .dump();
  return action;
}

json body_of(const RecordedRequest& request) { return json::parse(request.body, nullptr, false); }

}  // namespace

TEST_CASE("conformance: webhook") {
  conformance::Subject s;
  s.type = "webhook";
  s.config = {{"url", "{url}/hooks/lead"}, {"secret_env", "NURTURE_CK_WEBHOOK"}};
  s.env = {{"NURTURE_CK_WEBHOOK", "whsec-123"}};
  s.action = handoff_action();
  s.check_request = [](const Requests& r, const sdk::Action& a) {
    REQUIRE(r.size() == 1);
    CHECK(r[0].path == "/hooks/lead");
    CHECK(r[0].body == a.json_body);
    const std::string timestamp = r[0].header("X-Nurture-Timestamp");
    CHECK(r[0].header("X-Nurture-Signature") == connectors::webhook_signature("whsec-123", timestamp, a.json_body));
    const long long age = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count() - std::stoll(timestamp);
    CHECK(age >= 0);
    CHECK(age < 60);
  };
  s.idempotency = [](const RecordedRequest& r, const std::string& id) { return r.header("Idempotency-Key") == id; };
  conformance::run(s, registry());
}

TEST_CASE("conformance: slack and discord incoming webhooks (sales alerts)") {
  for (const std::string type : {"slack", "discord"}) {
    conformance::Subject s;
    s.type = type;
    s.config = {{"url_env", "NURTURE_CK_CHAT"}};
    s.env = {{"NURTURE_CK_CHAT", "{url}/services/T000/B000/XXXX"}};
    s.action = handoff_action();
    s.ok_answers = {{type == "slack" ? 200 : 204, type == "slack" ? "ok" : ""}};
    s.check_request = [type](const Requests& r, const sdk::Action&) {
      REQUIRE(r.size() == 1);
      CHECK(r[0].path == "/services/T000/B000/XXXX");
      const json body = body_of(r[0]);
      const std::string text = body.value(type == "slack" ? "text" : "content", "");
      CHECK(text == "New MQL: Ana  <ana@example.com>, score 72, stage mql (welcome / hello) — asked for a demo");
    };
    s.no_idempotency = "incoming webhooks take no idempotency key";
    conformance::run(s, registry());
  }
}

TEST_CASE("conformance: mastodon (public, and direct to the lead's handle)") {
  conformance::Subject s;
  s.type = "mastodon";
  s.config = {{"base_url", "{url}"}, {"token_env", "NURTURE_CK_MASTODON"}};
  s.env = {{"NURTURE_CK_MASTODON", "masto-token"}};
  s.action = post_action("Our spring webinar is open: https://acme.example/webinar", "direct");
  s.ok_answers = {{200, R"({"id":"111","visibility":"direct"})"}};
  s.expected_provider_id = "111";
  s.check_request = [](const Requests& r, const sdk::Action&) {
    REQUIRE(r.size() == 1);
    CHECK(r[0].path == "/api/v1/statuses");
    CHECK(r[0].header("Authorization") == "Bearer masto-token");
    const json body = body_of(r[0]);
    CHECK(body["status"] == "@ana@example.social Our spring webinar is open: https://acme.example/webinar");
    CHECK(body["visibility"] == "direct");
  };
  s.idempotency = [](const RecordedRequest& r, const std::string& id) { return r.header("Idempotency-Key") == id; };
  conformance::run(s, registry());
}

TEST_CASE("conformance: bluesky (session, then a post with link and mention facets, record key = action id)") {
  conformance::Subject s;
  s.type = "bluesky";
  s.config = {{"base_url", "{url}"}, {"identifier", "acme.bsky.social"}, {"app_password_env", "NURTURE_CK_BSKY"}};
  s.env = {{"NURTURE_CK_BSKY", "app-pass-1234"}};
  s.action = post_action("Olá @ana.bsky.social — see https://acme.example/x");
  s.ok_answers = {{200, R"({"accessJwt":"jwt-1","refreshJwt":"r","did":"did:plc:acme","handle":"acme.bsky.social"})"},
                  {200, R"({"did":"did:plc:ana"})"},
                  {200, R"({"uri":"at://did:plc:acme/app.bsky.feed.post/x","cid":"c"})"}};
  s.expected_provider_id = "at://did:plc:acme/app.bsky.feed.post/x";
  s.check_request = [](const Requests& r, const sdk::Action& a) {
    REQUIRE(r.size() == 3);
    CHECK(r[0].path == "/xrpc/com.atproto.server.createSession");
    CHECK(body_of(r[0]) == json{{"identifier", "acme.bsky.social"}, {"password", "app-pass-1234"}});
    CHECK(r[1].path == "/xrpc/com.atproto.identity.resolveHandle?handle=ana.bsky.social");
    CHECK(r[2].path == "/xrpc/com.atproto.repo.createRecord");
    CHECK(r[2].header("Authorization") == "Bearer jwt-1");
    const json body = body_of(r[2]);
    CHECK(body["repo"] == "did:plc:acme");
    CHECK(body["collection"] == "app.bsky.feed.post");
    CHECK(body["record"]["$type"] == "app.bsky.feed.post");
    CHECK(body["record"]["text"] == a.post.text);
    const json& facets = body["record"]["facets"];
    REQUIRE(facets.size() == 2);
    // Byte offsets in UTF-8: "Olá " is 5 bytes, so the mention starts at 5; the em dash is 3 bytes.
    CHECK(facets[0]["features"][0]["uri"] == "https://acme.example/x");
    CHECK(facets[0]["index"] == json{{"byteStart", 30}, {"byteEnd", 52}});  // 5 + 16 + " — see " (9 bytes)
    CHECK(facets[1]["features"][0] == json{{"$type", "app.bsky.richtext.facet#mention"}, {"did", "did:plc:ana"}});
    CHECK(facets[1]["index"] == json{{"byteStart", 5}, {"byteEnd", 21}});
  };
  s.idempotency = [](const RecordedRequest& r, const std::string& id) { return body_of(r).value("rkey", "") == id; };
  conformance::run(s, registry());
}

TEST_CASE("conformance: x (a post, a direct message to the lead's x_user_id)") {
  for (const std::string visibility : {"", "direct"}) {
    conformance::Subject s;
    s.type = "x";
    s.config = {{"base_url", "{url}"}, {"token_env", "NURTURE_CK_X"}};
    s.env = {{"NURTURE_CK_X", "x-bearer"}};
    s.action = post_action("Three tips for your first week", visibility);
    s.ok_answers = {{201, visibility == "direct" ? R"({"data":{"dm_conversation_id":"1-2","dm_event_id":"555"}})"
                                                 : R"({"data":{"id":"1445880548472328192","text":"Three tips"}})"}};
    s.expected_provider_id = visibility == "direct" ? "555" : "1445880548472328192";
    s.check_request = [visibility](const Requests& r, const sdk::Action&) {
      REQUIRE(r.size() == 1);
      CHECK(r[0].path == (visibility == "direct" ? "/2/dm_conversations/with/1234567/messages" : "/2/tweets"));
      CHECK(r[0].header("Authorization") == "Bearer x-bearer");
      CHECK(body_of(r[0]) == json{{"text", "Three tips for your first week"}});
    };
    s.no_idempotency = "the X API v2 has no idempotency key";
    conformance::run(s, registry());
  }
}

TEST_CASE("conformance: linkedin posts") {
  conformance::Subject s;
  s.type = "linkedin";
  s.config = {{"base_url", "{url}"}, {"token_env", "NURTURE_CK_LI"}, {"author", "urn:li:organization:5515715"}};
  s.env = {{"NURTURE_CK_LI", "li-token"}};
  s.action = post_action("We are hiring");
  s.ok_answers = {{201, "", {{"x-restli-id", "urn:li:share:6844785523593134080"}}}};
  s.expected_provider_id = "urn:li:share:6844785523593134080";
  s.check_request = [](const Requests& r, const sdk::Action&) {
    REQUIRE(r.size() == 1);
    CHECK(r[0].path == "/rest/posts");
    CHECK(r[0].header("LinkedIn-Version") == "202405");
    CHECK(r[0].header("X-Restli-Protocol-Version") == "2.0.0");
    const json body = body_of(r[0]);
    CHECK(body["author"] == "urn:li:organization:5515715");
    CHECK(body["commentary"] == "We are hiring");
    CHECK(body["visibility"] == "PUBLIC");
    CHECK(body["lifecycleState"] == "PUBLISHED");
    CHECK(body["distribution"]["feedDistribution"] == "MAIN_FEED");
  };
  s.no_idempotency = "the Posts API has no idempotency key";
  conformance::run(s, registry());
}

TEST_CASE("conformance: meta_audience adds the hashed, normalised email") {
  conformance::Subject s;
  s.type = "meta_audience";
  s.config = {{"base_url", "{url}"}, {"token_env", "NURTURE_CK_META"}, {"audience_id", "23851234"}};
  s.env = {{"NURTURE_CK_META", "meta-token"}};
  s.action = handoff_action();
  s.action.lead_attrs = R"({"email":" Ana@Example.com "})";
  s.ok_answers = {{200, R"({"audience_id":"23851234","session_id":"42","num_received":1,"num_invalid_entries":0})"}};
  s.check_request = [](const Requests& r, const sdk::Action& a) {
    REQUIRE(r.size() == 1);
    CHECK(r[0].method == "POST");
    CHECK(r[0].path == "/v19.0/23851234/users");
    const json body = body_of(r[0]);
    CHECK(body["payload"]["schema"] == "EMAIL_SHA256");
    // sha256("ana@example.com") by sha256sum: the address trimmed and lower-cased first
    CHECK(body["payload"]["data"][0] == "8e43ca37701228e74983efdbd0cff5c16b3b1e5d4e29a7c05626d4d25a018e11");
    CHECK(connectors::meta_email_hash(" Ana@Example.com ") == connectors::meta_email_hash("ana@example.com"));
    CHECK(body["session"]["session_id"] == std::stoll(a.action_id.substr(0, 15), nullptr, 16));
  };
  s.idempotency = [](const RecordedRequest& r, const std::string& id) {
    return body_of(r)["session"]["session_id"] == std::stoll(id.substr(0, 15), nullptr, 16);
  };
  conformance::run(s, registry());
}

TEST_CASE("conformance: hubspot hand-off (contact upsert, then a note on it)") {
  conformance::Subject s;
  s.type = "hubspot";
  s.config = {{"base_url", "{url}"}, {"token_env", "NURTURE_CK_HUBSPOT"}};
  s.env = {{"NURTURE_CK_HUBSPOT", "pat-na1-123"}};
  s.action = handoff_action();
  s.ok_answers = {{200, R"({"status":"COMPLETE","results":[{"id":"5101","properties":{}}]})"}, {201, R"({"id":"9001"})"}};
  s.expected_provider_id = "9001";
  s.check_request = [](const Requests& r, const sdk::Action& a) {
    REQUIRE(r.size() == 2);
    CHECK(r[0].path == "/crm/v3/objects/contacts/batch/upsert");
    CHECK(r[0].header("Authorization") == "Bearer pat-na1-123");
    const json upsert = body_of(r[0]);
    CHECK(upsert["inputs"][0]["idProperty"] == "email");
    CHECK(upsert["inputs"][0]["id"] == "ana@example.com");
    CHECK(upsert["inputs"][0]["properties"] ==
          json{{"email", "ana@example.com"}, {"firstname", "Ana"}, {"company", "Initech"},
               {"lifecyclestage", "marketingqualifiedlead"}});
    CHECK(r[1].path == "/crm/v3/objects/notes");
    const json note = body_of(r[1]);
    CHECK(note["associations"][0]["to"]["id"] == "5101");
    CHECK(note["associations"][0]["types"][0]["associationTypeId"] == 202);
    const std::string text = note["properties"]["hs_note_body"];
    CHECK(text.find("score 72, stage mql. asked for a demo. Recent: page.viewed") != std::string::npos);
    CHECK(text.find(a.action_id) != std::string::npos);
  };
  s.idempotency = [](const RecordedRequest& r, const std::string& id) {
    return body_of(r)["properties"].value("hs_note_body", "").find(id) != std::string::npos;
  };
  conformance::run(s, registry());
}

TEST_CASE("conformance: the email APIs (sendgrid, mailgun, postmark)") {
  struct Email {
    std::string type;
    std::map<std::string, std::string> config;
    testing::ScriptedAnswer ok;
    std::function<bool(const RecordedRequest&, const std::string&)> idempotency;
  };
  const std::vector<Email> providers = {
      {"sendgrid", {{"api_key_env", "NURTURE_CK_EMAIL"}}, {202, "", {{"X-Message-Id", "m1"}}},
       [](const RecordedRequest& r, const std::string& id) { return body_of(r)["custom_args"]["action_id"] == id; }},
      {"mailgun", {{"api_key_env", "NURTURE_CK_EMAIL"}, {"domain", "mg.acme.example"}}, {200, R"({"id":"<m1>"})"},
       [](const RecordedRequest& r, const std::string& id) { return r.body.find("v%3Aaction_id=" + id) != std::string::npos; }},
      {"postmark", {{"server_token_env", "NURTURE_CK_EMAIL"}}, {200, R"({"ErrorCode":0,"MessageID":"m1"})"},
       [](const RecordedRequest& r, const std::string& id) { return body_of(r)["Metadata"]["action_id"] == id; }},
  };
  for (const auto& provider : providers) {
    conformance::Subject s;
    s.type = provider.type;
    s.config = provider.config;
    s.config["base_url"] = "{url}";
    s.env = {{"NURTURE_CK_EMAIL", "email-key-123"}};
    s.action = email_action();
    s.ok_answers = {provider.ok};
    s.idempotency = provider.idempotency;
    conformance::run(s, registry());
  }
}

TEST_CASE("conformance: a plugin (examples/connectors/ntfy, loaded through the plugin ABI)") {
  auto factory = connectors::load_connector_plugin(NURTURE_TEST_NTFY_PLUGIN);
  REQUIRE_MESSAGE(factory, factory.error().format());
  sdk::Registry plugins;
  plugins.add(std::move(*factory));
  conformance::Subject s;
  s.type = "ntfy";
  s.config = {{"base_url", "{url}"}, {"topic", "sales"}, {"token_env", "NURTURE_CK_NTFY"}};
  s.env = {{"NURTURE_CK_NTFY", "tk_secret"}};
  s.action = post_action("New lead: Ana");
  s.ok_answers = {{200, R"({"id":"m1","event":"message"})"}};
  s.check_request = [](const Requests& r, const sdk::Action&) {
    REQUIRE(r.size() == 1);
    CHECK(r[0].path == "/sales");
    CHECK(r[0].body == "New lead: Ana");
    CHECK(r[0].header("Authorization") == "Bearer tk_secret");
  };
  s.no_idempotency = "ntfy publishes take no idempotency key";
  conformance::run(s, plugins);
}
