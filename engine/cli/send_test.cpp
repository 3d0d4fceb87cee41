// `nurture send-test TEMPLATE --to ADDRESS [--lead-id L]`: one email through the configured connector, for a person
// to look at in a real inbox before a campaign goes out. Marked as a test; never queued, recorded or counted.

#include <future>
#include <iostream>

#include <fmt/format.h>

#include "connectors/builtins.hpp"
#include "engine/cli/command.hpp"
#include "engine/runtime/connector_set.hpp"
#include "engine/runtime/dispatcher.hpp"
#include "engine/store/memory/memory_store.hpp"
#include "templates/template_library.hpp"
#include "text/address.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

namespace {

struct SendTestOptions {
  std::string template_name, to, lead_id, connector;
  StoreFlags store;
};

// The lead the email is rendered for: a stored one (--lead-id), else a sample lead at the test address.
tl::expected<engine::LeadSnapshot, CommandError> test_lead(const SendTestOptions& options) {
  engine::LeadSnapshot lead;
  if (options.lead_id.empty()) {
    lead.id = "send-test";
    lead.attrs = {{"email", options.to}, {"first_name", "Test"}};
    return lead;
  }
  auto opened = open_cli_store(options.store.redis, options.store.config, StoreUse::read);
  if (!opened) return tl::unexpected(opened.error());
  try {
    lead = opened->store->load_lead(options.lead_id);
  } catch (const engine::StoreUnavailable& e) {
    return stop(3, {e.what()});
  }
  if (lead.version == 0) return stop(1, {fmt::format("no lead \"{}\" in the store", options.lead_id)});
  return lead;
}

int send_test(const SendTestOptions& options) {
  if (!text::parse_address(options.to)) {
    return say(2, {fmt::format("--to \"{}\" is not a mail address", options.to), {}, "e.g. --to you@acme.example"});
  }
  const std::string config_file = options.store.config.empty() ? "nurture.yaml" : options.store.config;
  auto load = workflows::load_campaign(std::filesystem::absolute(config_file).parent_path(), config_file);
  if (!load.ok()) return say(CommandError{load.diagnostics, 1});
  const workflows::Config& config = load.campaign.config;
  const std::string connector_name = options.connector.empty() ? config.default_email_connector : options.connector;
  if (connector_name.empty()) {
    return say(2, {"no connector to send with", {}, "pass --connector NAME or set `defaults.email` in nurture.yaml"});
  }
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto connectors = engine::ConnectorSet::create(config, registry);
  if (!connectors) return say(CommandError{connectors.error(), 1});
  sdk::Connector* connector = connectors->find(connector_name);
  if (connector == nullptr) return say(2, {fmt::format("no connector \"{}\" in nurture.yaml", connector_name)});
  auto lead = test_lead(options);
  if (!lead) return say(lead.error());

  // The dispatcher renders it as a send would be; its store is a scratch one, written to by nobody.
  engine::RealClock clock;
  engine::memory::MemoryStore scratch(clock);
  templates::TemplateLibrary templates(load.campaign.templates_dir);
  engine::Dispatcher dispatcher(scratch, load.campaign, templates, *connectors, clock);
  auto action = dispatcher.test_email(options.template_name, options.to, *lead, connector->needs_mime());
  if (!action) return say(1, {action.error()});
  action->deadline = std::chrono::system_clock::now() + engine::send_deadline;

  std::promise<sdk::Result> answered;
  engine::send_guarded(*connector, *action, [&answered](sdk::Result result) { answered.set_value(std::move(result)); });
  auto answer = answered.get_future();
  if (answer.wait_for(engine::send_deadline) != std::future_status::ready) {
    return say(3, {fmt::format("{} did not answer within {} s", connector_name, engine::send_deadline.count())});
  }
  const sdk::Result result = answer.get();
  if (result.kind != sdk::Result::Kind::sent) {
    return say(3, {fmt::format("{} did not send it: {}", connector_name, result.reason)});
  }
  std::cout << fmt::format("sent a test of {} to {} via {} (subject \"{}\"{})\n", options.template_name, options.to,
                           connector_name, action->email.subject,
                           result.provider_id.empty() ? "" : ", provider id " + result.provider_id);
  return 0;
}

}  // namespace

Command add_send_test(CLI::App& app) {
  auto options = std::make_shared<SendTestOptions>();
  auto* command = app.add_subcommand(
      "send-test", "send one email of a template to an address, marked as a test and counted nowhere");
  command->add_option("template", options->template_name, "template name (templates/NAME.mustache)")->required();
  command->add_option("--to", options->to, "the address to send it to")->required();
  command->add_option("--lead-id", options->lead_id, "render it for this stored lead (default: a sample lead)");
  command->add_option("--connector", options->connector, "the connector to send with (default: defaults.email)");
  add_store_options(command, options->store);
  return {command, [options] { return send_test(*options); }};
}

}  // namespace nurture::cli
