// SendGrid, Mailgun and Postmark connectors against a local recording HTTP server: the request each provider's
// public API documents, the action id as the provider's custom id, and the answers mapped to results.
#include <doctest/doctest.h>

#include <future>

#include <nlohmann/json.hpp>

#include "connectors/builtins.hpp"
#include "connectors/http/http_client.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::testing;
using Kind = sdk::Result::Kind;

namespace {

std::unique_ptr<sdk::Connector> make(const std::string& type, std::map<std::string, std::string> values) {
  ::setenv("NURTURE_TEST_KEY", "key-123", 1);
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto connector = registry.create(type, type, values, "/");
  REQUIRE_MESSAGE(connector, (connector ? "" : connector.error().front().format()));
  return std::move(*connector);
}

sdk::Action email(const std::string& id) {
  sdk::Action action;
  action.action_id = id;
  action.lead_id = "L1";
  action.email.from = "Acme Team <hello@acme.example>";
  action.email.to = "ana@example.com";
  action.email.reply_to = "support@acme.example";
  action.email.subject = "Welcome aboard, Ana!";
  action.email.text = "Hi Ana";
  action.email.html = "<p>Hi Ana</p>";
  action.email.headers = {{"Message-ID", "<" + id + "@acme.example>"},
                          {"List-Unsubscribe", "<https://t.acme.example/u/" + id + "/sig>"},
                          {"List-Unsubscribe-Post", "List-Unsubscribe=One-Click"}};
  return action;
}

std::future<sdk::Result> send(sdk::Connector& connector, const sdk::Action& action) {
  auto promise = std::make_shared<std::promise<sdk::Result>>();
  auto future = promise->get_future();
  connector.send(action, [promise](sdk::Result r) { promise->set_value(std::move(r)); });
  return future;
}

sdk::Result send_now(sdk::Connector& connector, const sdk::Action& action) {
  auto future = send(connector, action);
  REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return future.get();
}

// The answers every provider maps the same way (docs/connectors.md, "Write a connector").
void check_common_answers(sdk::Connector& connector, const HttpRecorder& recorder) {
  recorder.script({{429, "{}", {{"Retry-After", "7"}}}});
  auto limited = send_now(connector, email("r1"));
  CHECK(limited.kind == Kind::retry);
  CHECK(limited.after == std::chrono::seconds(7));
  recorder.script({{503, "busy"}});
  CHECK(send_now(connector, email("r2")).kind == Kind::retry);
  recorder.script({{400, R"({"message":"bad from address"})"}});
  auto bad = send_now(connector, email("r3"));
  CHECK(bad.kind == Kind::failed);
  CHECK(bad.reason.find("400") != std::string::npos);
  CHECK(bad.reason.find("key-123") == std::string::npos);  // no secret in reasons (they are logged)
}

}  // namespace

TEST_CASE("sendgrid: v3 mail/send with a bearer key, custom_args.action_id, our headers, X-Message-Id back") {
  TempDir dir;
  HttpRecorder recorder(dir / "http");
  recorder.script({{202, "", {{"X-Message-Id", "sg-abc"}}}});
  auto connector = make("sendgrid", {{"api_key_env", "NURTURE_TEST_KEY"}, {"base_url", recorder.url()}});
  auto result = send_now(*connector, email("a1"));
  CHECK(result.kind == Kind::sent);
  CHECK(result.provider_id == "sg-abc");
  auto requests = recorder.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].method == "POST");
  CHECK(requests[0].path == "/v3/mail/send");
  CHECK(requests[0].header("Authorization") == "Bearer key-123");
  auto body = nlohmann::json::parse(requests[0].body);
  CHECK(body["personalizations"][0]["to"][0]["email"] == "ana@example.com");
  CHECK(body["from"] == nlohmann::json{{"email", "hello@acme.example"}, {"name", "Acme Team"}});
  CHECK(body["reply_to"]["email"] == "support@acme.example");
  CHECK(body["subject"] == "Welcome aboard, Ana!");
  CHECK(body["content"][0] == nlohmann::json{{"type", "text/plain"}, {"value", "Hi Ana"}});
  CHECK(body["content"][1] == nlohmann::json{{"type", "text/html"}, {"value", "<p>Hi Ana</p>"}});
  CHECK(body["custom_args"]["action_id"] == "a1");
  CHECK(body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click");
  CHECK_FALSE(body["headers"].contains("Message-ID"));  // SendGrid sets its own

  check_common_answers(*connector, recorder);
  // SendGrid's 429 carries X-RateLimit-Reset (epoch seconds) instead of Retry-After.
  const long long in_a_minute =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count() + 60;
  recorder.script({{429, "{}", {{"X-RateLimit-Reset", std::to_string(in_a_minute)}}}});
  auto limited = send_now(*connector, email("r4"));
  CHECK(limited.kind == Kind::retry);
  CHECK(limited.after >= std::chrono::seconds(58));
  CHECK(limited.after <= std::chrono::seconds(60));
}

TEST_CASE("mailgun: form fields to /v3/DOMAIN/messages, Basic api:KEY, v:action_id and h: headers, id back") {
  TempDir dir;
  HttpRecorder recorder(dir / "http");
  recorder.script({{200, R"({"id":"<mg-1@acme.example>","message":"Queued. Thank you."})"}});
  auto connector = make("mailgun",
                        {{"api_key_env", "NURTURE_TEST_KEY"}, {"domain", "mg.acme.example"}, {"base_url", recorder.url()}});
  auto result = send_now(*connector, email("a1"));
  CHECK(result.kind == Kind::sent);
  CHECK(result.provider_id == "<mg-1@acme.example>");
  auto requests = recorder.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].path == "/v3/mg.acme.example/messages");
  CHECK(requests[0].header("Authorization") == "Basic YXBpOmtleS0xMjM=");  // api:key-123
  CHECK(requests[0].header("Content-Type") == "application/x-www-form-urlencoded");
  const std::string& form = requests[0].body;
  CHECK(form.find("from=Acme%20Team%20%3Chello%40acme.example%3E") != std::string::npos);
  CHECK(form.find("to=ana%40example.com") != std::string::npos);
  CHECK(form.find("subject=Welcome%20aboard%2C%20Ana%21") != std::string::npos);
  CHECK(form.find("v%3Aaction_id=a1") != std::string::npos);
  CHECK(form.find("h%3AList-Unsubscribe-Post=List-Unsubscribe%3DOne-Click") != std::string::npos);
  CHECK(form.find("o%3Atracking=no") != std::string::npos);

  check_common_answers(*connector, recorder);
}

TEST_CASE("postmark: /email with the server token, Metadata.action_id, broadcast stream, 406 is suppressed") {
  TempDir dir;
  HttpRecorder recorder(dir / "http");
  recorder.script({{200, R"({"To":"ana@example.com","ErrorCode":0,"Message":"OK","MessageID":"pm-1"})"}});
  auto connector = make("postmark", {{"server_token_env", "NURTURE_TEST_KEY"}, {"base_url", recorder.url()}});
  auto result = send_now(*connector, email("a1"));
  CHECK(result.kind == Kind::sent);
  CHECK(result.provider_id == "pm-1");
  auto requests = recorder.requests();
  REQUIRE(requests.size() == 1);
  CHECK(requests[0].path == "/email");
  CHECK(requests[0].header("X-Postmark-Server-Token") == "key-123");
  auto body = nlohmann::json::parse(requests[0].body);
  CHECK(body["From"] == "Acme Team <hello@acme.example>");
  CHECK(body["To"] == "ana@example.com");
  CHECK(body["HtmlBody"] == "<p>Hi Ana</p>");
  CHECK(body["TextBody"] == "Hi Ana");
  CHECK(body["MessageStream"] == "broadcast");
  CHECK(body["Metadata"]["action_id"] == "a1");
  CHECK(body["Headers"][2] == nlohmann::json{{"Name", "List-Unsubscribe-Post"}, {"Value", "List-Unsubscribe=One-Click"}});

  recorder.script({{422, R"({"ErrorCode":406,"Message":"You tried to send to recipient(s) that have been marked as inactive."})"}});
  auto inactive = send_now(*connector, email("s1"));
  CHECK(inactive.kind == Kind::suppressed);
  check_common_answers(*connector, recorder);
}

TEST_CASE("a slow provider does not hold up another, an unreachable one is a retry") {
  TempDir dir;
  HttpRecorder slow(dir / "slow");
  HttpRecorder fast(dir / "fast");
  slow.script({{202, "", {}, 3000}});
  fast.script({{202, "", {{"X-Message-Id", "quick"}}}});
  auto slow_connector = make("sendgrid", {{"api_key_env", "NURTURE_TEST_KEY"}, {"base_url", slow.url()}});
  auto fast_connector = make("sendgrid", {{"api_key_env", "NURTURE_TEST_KEY"}, {"base_url", fast.url()}});
  auto slow_answer = send(*slow_connector, email("s1"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the slow request is on the wire first
  const auto started = std::chrono::steady_clock::now();
  auto fast_answer = send(*fast_connector, email("f1"));
  REQUIRE(fast_answer.wait_for(std::chrono::seconds(2)) == std::future_status::ready);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(1500));
  CHECK(fast_answer.get().provider_id == "quick");
  CHECK(slow_answer.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);  // still waiting
  REQUIRE(slow_answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(slow_answer.get().kind == Kind::sent);

  auto nowhere = make("postmark", {{"server_token_env", "NURTURE_TEST_KEY"},
                                   {"base_url", "http://127.0.0.1:" + std::to_string(free_tcp_port())}});
  CHECK(send_now(*nowhere, email("n1")).kind == Kind::retry);
}

TEST_CASE("a provider whose secret is not in the environment is a config error naming the variable") {
  ::unsetenv("NURTURE_TEST_MISSING");
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto connector = registry.create("sendgrid", "sg", {{"api_key_env", "NURTURE_TEST_MISSING"}}, "/");
  REQUIRE_FALSE(connector);
  REQUIRE(connector.error().size() == 1);
  CHECK(connector.error()[0].message.find("NURTURE_TEST_MISSING") != std::string::npos);
  CHECK(connector.error()[0].hint == "export it in the daemon's environment");
}

TEST_CASE("Retry-After as an HTTP date") {
  connectors::http::Response response;
  response.status = 503;
  response.headers["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT";  // in the past: retry at once
  CHECK(connectors::http::retry_after(response, std::chrono::seconds(30)) == std::chrono::milliseconds(0));
  response.headers["retry-after"] = "soon";
  CHECK(connectors::http::retry_after(response, std::chrono::seconds(30)) == std::chrono::seconds(30));
}
