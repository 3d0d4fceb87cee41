// `type: plugin`: loading, the ABI check, config keys the plugin declares, and a send across the C boundary.
#include <doctest/doctest.h>

#include <future>

#include "engine/runtime/connector_set.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;

namespace {

workflows::Config config_with(std::map<std::string, std::string> values) {
  workflows::Config config;
  config.base_dir = NURTURE_TEST_PLUGIN_DIR;
  workflows::ConnectorSettings settings;
  settings.name = "mine";
  settings.type = "plugin";
  settings.values = std::move(values);
  settings.where = {"nurture.yaml", 7, 3};
  settings.value_locations["prefix"] = {"nurture.yaml", 9, 13};
  config.connectors.push_back(settings);
  return config;
}

std::string first_error(const tl::expected<engine::ConnectorSet, workflows::Diagnostics>& set) {
  REQUIRE_FALSE(set.has_value());
  REQUIRE_FALSE(set.error().empty());
  return set.error().front().format();
}

sdk::Result send(engine::ConnectorSet& set, const sdk::Action& action) {
  auto promise = std::make_shared<std::promise<sdk::Result>>();
  auto answer = promise->get_future();
  set.find("mine")->send(action, [promise](sdk::Result r) { promise->set_value(std::move(r)); });
  REQUIRE(answer.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  return answer.get();
}

}  // namespace

TEST_CASE("a plugin is loaded by path, configured with the keys it declares, and sends across the C ABI") {
  sdk::Registry builtins;
  auto set = engine::ConnectorSet::create(config_with({{"path", "libtest_echo_plugin.so"}, {"prefix", "P"}}), builtins);
  if (!set) FAIL(set.error().front().format());
  sdk::Action action;
  action.action_id = "a1";
  action.lead_id = "L1";
  action.channel = sdk::Channel::social;
  action.post.text = "Olá";
  action.lead_attrs = R"({"x":1})";
  action.email.headers = {{"List-Unsubscribe", "<u>"}};
  CHECK_FALSE(set->find("mine")->needs_mime());  // across the ABI: the plugin takes the parts
  const sdk::Result sent = send(*set, action);
  CHECK(sent.kind == sdk::Result::Kind::sent);
  CHECK(sent.provider_id == R"(P3:a1|L1|Olá|{"x":1}|List-Unsubscribe=<u>;)");  // default `size` filled in
  action.post.text = "please retry";
  const sdk::Result retry = send(*set, action);
  CHECK(retry.kind == sdk::Result::Kind::retry);
  CHECK(retry.after == std::chrono::milliseconds(1234));
  CHECK(retry.reason == "asked to");
}

TEST_CASE("a plugin's own checks and its declared keys give errors at the config's position") {
  sdk::Registry builtins;
  CHECK(first_error(engine::ConnectorSet::create(config_with({{"path", "libtest_echo_plugin.so"}, {"prefix", "bad"}}),
                                                 builtins)) == "nurture.yaml:7:3: error: prefix must not be bad");
  CHECK(first_error(engine::ConnectorSet::create(config_with({{"path", "libtest_echo_plugin.so"}}), builtins)) ==
        "nurture.yaml:7:3: error: connector \"mine\" needs `prefix` (put before every provider id)");
  CHECK(first_error(engine::ConnectorSet::create(
            config_with({{"path", "libtest_echo_plugin.so"}, {"prefix", "P"}, {"colour", "red"}}), builtins))
            .find("connector type \"echo\" has no key \"colour\" (its keys: prefix, size)") != std::string::npos);
}

TEST_CASE("a wrong ABI version, a library without the symbol, or no file at all is a clear error") {
  sdk::Registry builtins;
  CHECK(first_error(engine::ConnectorSet::create(config_with({{"path", "libtest_wrong_abi_plugin.so"}}), builtins))
            .find("speaks connector ABI v99; this nurture speaks v1 (rebuild the plugin against this SDK)") !=
        std::string::npos);
  CHECK(first_error(engine::ConnectorSet::create(config_with({{"path", "libtest_no_symbol_plugin.so"}}), builtins))
            .find("exports no `nurture_connector_v1` (build it with NURTURE_EXPORT_CONNECTOR") != std::string::npos);
  CHECK(first_error(engine::ConnectorSet::create(config_with({{"path", "libnowhere.so"}}), builtins))
            .find("libnowhere.so does not exist") != std::string::npos);
  CHECK(first_error(engine::ConnectorSet::create(config_with({}), builtins)) ==
        "nurture.yaml:7:3: error: plugin connector \"mine\" needs `path` (path: /opt/nurture/libmychannel.so)");
}
