#pragma once
// The connector conformance kit (docs/connectors.md, "Write a connector"): runs a connector against a local recording HTTP server and
// checks what every connector owes the engine. For built-ins and for plugin authors alike:
//
//   nurture::conformance::Subject subject;
//   subject.type = "ntfy";                               // the connector type in the registry
//   subject.config = {{"base_url", "{url}"}, ...};        // "{url}" becomes the recorder's address
//   subject.env = {{"NTFY_TOKEN", "secret-token"}};      // secrets; none may appear in any result
//   subject.action = a typical action for its channel;
//   subject.ok_answers = {{200, R"({"id":"x"})"}};       // what the provider answers a good request
//   subject.check_request = [](auto& requests, auto& action) { CHECK(...the documented API shape...); };
//   subject.idempotency = [](auto& request, auto& id) { return request.header("Idempotency-Key") == id; };
//   nurture::conformance::run(subject, registry);
//
// Checks: the request shape; the action id reaches the provider as its idempotency key (when the API has one —
// else `no_idempotency` says why); 429 + Retry-After -> retry after that delay; 500 -> retry; a timeout -> retry;
// 400 -> failed; a slow provider does not hold up another instance; no secret in any result.

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nurture/sdk/connector.hpp"
#include "tests/support/fixtures.hpp"

namespace nurture::conformance {

struct Subject {
  std::string type;
  std::map<std::string, std::string> config;  // "{url}" in a value: the recorder's base URL
  std::map<std::string, std::string> env;     // set before creating; values are secrets
  sdk::Action action;
  std::vector<testing::ScriptedAnswer> ok_answers{{200, "{}"}};
  std::function<void(const std::vector<testing::RecordedRequest>&, const sdk::Action&)> check_request;
  std::function<bool(const testing::RecordedRequest&, const std::string& action_id)> idempotency;
  std::string no_idempotency;  // why the provider has no idempotency key (then `idempotency` is empty)
  std::string expected_provider_id;  // of a good send, "" to skip
};

void run(const Subject& subject, const sdk::Registry& registry);

}  // namespace nurture::conformance
