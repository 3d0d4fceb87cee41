#include <doctest/doctest.h>

#include "connectors/builtins.hpp"
#include "nurture/sdk/connector.hpp"

using namespace nurture;

namespace {
struct Created {
  std::unique_ptr<sdk::Connector> connector;
  std::vector<sdk::ConfigProblem> problems;
};
Created create(const std::string& type, std::map<std::string, std::string> values) {
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto created = registry.create(type, "main", values, "/base");
  Created out;
  if (created) out.connector = std::move(*created);
  else out.problems = std::move(created.error());
  return out;
}
}  // namespace

TEST_CASE("the built-in connector types are registered under their config names") {
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  CHECK(registry.find("file"));
  CHECK(registry.find("smtp"));
  CHECK(registry.find("null"));
  CHECK_FALSE(registry.find("carrier_pigeon"));
}

TEST_CASE("a connector's config is checked against its declared keys") {
  auto unknown_type = create("carrier_pigeon", {});
  CHECK_FALSE(unknown_type.connector);
  REQUIRE(unknown_type.problems.size() == 1);
  CHECK(unknown_type.problems[0].key == "type");
  CHECK(unknown_type.problems[0].hint == "known types: bluesky, discord, file, hubspot, linkedin, mailgun, mastodon, meta_audience, null, postmark, "
                                                 "sendgrid, slack, smtp, webhook, x");

  auto unknown_key = create("file", {{"dir", "./out"}, {"folder", "x"}});
  CHECK_FALSE(unknown_key.connector);
  REQUIRE(unknown_key.problems.size() == 1);
  CHECK(unknown_key.problems[0].key == "folder");

  auto missing = create("smtp", {});
  CHECK_FALSE(missing.connector);
  REQUIRE(missing.problems.size() == 1);
  CHECK(missing.problems[0].message == "connector \"main\" needs `url`");

  auto bad_integer = create("smtp", {{"url", "smtp://127.0.0.1:25"}, {"pool", "four"}});
  CHECK_FALSE(bad_integer.connector);
  REQUIRE(bad_integer.problems.size() == 1);
  CHECK(bad_integer.problems[0].key == "pool");

  auto bad_url = create("smtp", {{"url", "http://mail.example"}});
  CHECK_FALSE(bad_url.connector);
  REQUIRE(bad_url.problems.size() == 1);
  CHECK(bad_url.problems[0].message.find("must start with smtp://") != std::string::npos);

  auto ok = create("smtp", {{"url", "smtp://127.0.0.1:25"}, {"rate", "50/s"}});  // `rate` is the engine's key
  CHECK(ok.connector);
  CHECK(ok.problems.empty());
}

TEST_CASE("relative paths in connector config resolve against the config's directory") {
  sdk::ConnectorConfig config{"outbox", {{"dir", "./outbox"}, {"abs", "/var/x"}}, "/campaign"};
  CHECK(config.path("dir") == "/campaign/outbox");
  CHECK(config.path("abs") == "/var/x");
}
