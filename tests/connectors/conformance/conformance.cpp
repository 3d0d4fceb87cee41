#include "tests/connectors/conformance/conformance.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <future>

#include "engine/runtime/connector_set.hpp"

namespace nurture::conformance {

namespace {

using Kind = sdk::Result::Kind;

std::string with_url(std::string value, const std::string& url) {
  const auto at = value.find("{url}");
  if (at != std::string::npos) value.replace(at, 5, url);
  return value;
}

std::unique_ptr<sdk::Connector> make(const Subject& subject, const sdk::Registry& registry, const std::string& url,
                                     long timeout_ms = 0) {
  for (const auto& [name, value] : subject.env) ::setenv(name.c_str(), with_url(value, url).c_str(), 1);
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : subject.config) values[key] = with_url(value, url);
  if (timeout_ms > 0) values["timeout_ms"] = std::to_string(timeout_ms);
  auto connector = registry.create(subject.type, "conformance", values, "/");
  REQUIRE_MESSAGE(connector, (connector ? "" : connector.error().front().format()));
  return engine::with_own_thread_if_serial(std::move(*connector));  // as the engine runs it
}

std::future<sdk::Result> send(sdk::Connector& connector, const sdk::Action& action) {
  auto promise = std::make_shared<std::promise<sdk::Result>>();
  auto future = promise->get_future();
  connector.send(action, [promise](sdk::Result result) { promise->set_value(std::move(result)); });
  return future;
}

sdk::Result wait(std::future<sdk::Result>& future) {
  REQUIRE(future.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return future.get();
}

sdk::Result send_now(const Subject& subject, const sdk::Registry& registry, const testing::HttpRecorder& recorder,
                     long timeout_ms = 0) {
  auto connector = make(subject, registry, recorder.url(), timeout_ms);
  auto future = send(*connector, subject.action);
  return wait(future);
}

}  // namespace

void run(const Subject& subject, const sdk::Registry& registry) {
  testing::TempDir dir;
  testing::HttpRecorder recorder(dir / "provider");
  std::vector<sdk::Result> results;
  INFO("connector type: ", subject.type);

  // The documented request, and the action id as the provider's idempotency key.
  recorder.script(subject.ok_answers);
  const sdk::Result ok = send_now(subject, registry, recorder);
  results.push_back(ok);
  CHECK_MESSAGE(ok.kind == Kind::sent, ok.reason);
  if (!subject.expected_provider_id.empty()) CHECK(ok.provider_id == subject.expected_provider_id);
  const auto requests = recorder.requests();
  REQUIRE_FALSE(requests.empty());
  if (subject.check_request) subject.check_request(requests, subject.action);
  if (subject.idempotency) {
    CHECK_MESSAGE(subject.idempotency(requests.back(), subject.action.action_id),
                  "the action id does not reach the provider as its idempotency key");
  } else {
    CHECK_MESSAGE(!subject.no_idempotency.empty(), "say why the provider has no idempotency key");
  }

  // 429 with Retry-After: retry, after what the provider asked for.
  recorder.script({{429, R"({"error":"rate limited"})", {{"Retry-After", "9"}}}});
  const sdk::Result limited = send_now(subject, registry, recorder);
  results.push_back(limited);
  CHECK(limited.kind == Kind::retry);
  CHECK(limited.after == std::chrono::seconds(9));

  // 500: retry. 400: failed for good.
  recorder.script({{500, R"({"error":"internal"})"}});
  const sdk::Result broken = send_now(subject, registry, recorder);
  results.push_back(broken);
  CHECK(broken.kind == Kind::retry);
  recorder.script({{400, R"({"error":"bad request"})"}});
  const sdk::Result refused = send_now(subject, registry, recorder);
  results.push_back(refused);
  CHECK(refused.kind == Kind::failed);

  // A provider that does not answer in time: retry, after the connector's timeout, not hanging.
  recorder.script({{200, "{}", {}, 3000}});
  const auto started = std::chrono::steady_clock::now();
  const sdk::Result timed_out = send_now(subject, registry, recorder, 300);
  results.push_back(timed_out);
  CHECK(timed_out.kind == Kind::retry);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(2500));

  // A slow provider does not hold up another instance's send.
  testing::HttpRecorder slow(dir / "slow");
  testing::HttpRecorder fast(dir / "fast");
  std::vector<testing::ScriptedAnswer> slow_answers = subject.ok_answers;
  for (auto& answer : slow_answers) answer.delay_ms = 1500;
  slow.script(slow_answers);
  fast.script(subject.ok_answers);
  auto slow_connector = make(subject, registry, slow.url());
  auto fast_connector = make(subject, registry, fast.url());
  auto slow_answer = send(*slow_connector, subject.action);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto fast_answer = send(*fast_connector, subject.action);
  REQUIRE(fast_answer.wait_for(std::chrono::milliseconds(1200)) == std::future_status::ready);
  CHECK(slow_answer.wait_for(std::chrono::milliseconds(0)) == std::future_status::timeout);
  results.push_back(fast_answer.get());
  results.push_back(wait(slow_answer));

  // No secret in what the engine logs and stores (reasons, provider ids).
  for (const auto& [name, secret] : subject.env) {
    const std::string value = with_url(secret, recorder.url());
    for (const auto& result : results) {
      CHECK_MESSAGE(result.reason.find(value) == std::string::npos, "secret ", name, " in a reason: ", result.reason);
      CHECK(result.provider_id.find(value) == std::string::npos);
    }
  }
}

}  // namespace nurture::conformance
