// What the commands share: the store options, opening the store, reading an input file.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "engine/cli/command.hpp"
#include "engine/store/store_target.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

void add_store_options(CLI::App* command, StoreFlags& flags) {
  command->add_option("--config", flags.config, "config file (default ./nurture.yaml)");
  command->add_option("--redis", flags.redis, "redis://host:port/db, unix:///path or redis-cluster://host:port,...");
}

int say(const CommandError& failure) {
  for (const auto& problem : failure.problems) std::cerr << problem.format() << "\n";
  return failure.exit_code;
}

namespace {

// The daemon of a `redis: auto` campaign is stopped, and its data is there: a read starts the private Redis on it.
bool has_embedded_data(const std::filesystem::path& state_dir) {
  std::error_code ec;
  return std::filesystem::exists(state_dir / "appendonlydir", ec) || std::filesystem::exists(state_dir / "dump.rdb", ec);
}

}  // namespace

tl::expected<CliStore, CommandError> open_cli_store(const std::string& redis_flag, const std::string& config_path,
                                                    StoreUse use) {
  CliStore opened;
  std::string config_redis = "auto";
  engine::redis::RedisStoreOptions store_options;
  std::filesystem::path config_dir = std::filesystem::current_path();
  const std::filesystem::path config_file = config_path.empty() ? "nurture.yaml" : config_path;
  if (std::filesystem::exists(config_file)) {
    auto config = workflows::load_config(config_file, config_file.string());
    if (!config) return tl::unexpected(CommandError{config.error(), 1});
    config_redis = config->redis;
    store_options.key_prefix = config->key_prefix;
    store_options.partitions = config->partitions;
    store_options.event_streams = config->event_streams;
    config_dir = config->base_dir;
    opened.config = std::move(*config);
  } else if (!config_path.empty()) {
    return stop(2, {"no config file", {config_path}, "pass the path of the campaign's nurture.yaml"});
  }
  engine::StoreTarget target = engine::resolve_store_target(redis_flag, config_redis, config_dir);
  const std::string start_it = fmt::format("start `nurture run {}` or pass --redis", config_dir.string());
  if (target.url.empty() && target.embedded && use == StoreUse::read && has_embedded_data(target.state_dir)) {
    auto started = engine::redis::EmbeddedRedis::start(target.state_dir);
    if (!started) return stop(3, {started.error().message, {}, start_it});
    std::cerr << fmt::format("(the daemon of {} is stopped: read from its data, with its Redis started for the read)\n",
                             config_dir.string());
    target.url = (*started)->url();
    opened.started_for_read = std::move(*started);
  }
  if (target.url.empty()) {
    return stop(3, {fmt::format("no nurture daemon is running for {}", config_dir.string()), {}, start_it});
  }
  auto connection = engine::redis::RedisConnection::open(target.url);
  if (!connection) return stop(3, {connection.error().message, {}, target.embedded ? start_it : ""});
  opened.store = std::make_unique<engine::redis::RedisStore>(std::move(*connection), store_options);
  return opened;
}

tl::expected<workflows::Campaign, CommandError> load_store_campaign(const CliStore& store) {
  if (!store.config) {
    return stop(2, Error{"this needs the campaign's nurture.yaml", {}, "run it in the campaign directory or pass --config"});
  }
  auto load = workflows::load_campaign(store.config->base_dir, store.config->file);
  if (!load.ok()) return tl::unexpected(CommandError{load.diagnostics, 1});
  return std::move(load.campaign);
}

Expected<std::string> read_input(const std::string& file) {
  std::stringstream buffer;
  if (file.empty() || file == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail("cannot read the file", {file});
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace nurture::cli
