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
  command->add_option("--redis", flags.redis, "redis://host:port/db or unix:///path");
}

tl::expected<CliStore, int> open_cli_store(const std::string& redis_flag, const std::string& config_path) {
  CliStore opened;
  std::string config_redis = "auto";
  engine::redis::RedisStoreOptions store_options;
  std::filesystem::path config_dir = std::filesystem::current_path();
  const std::filesystem::path config_file = config_path.empty() ? "nurture.yaml" : config_path;
  if (std::filesystem::exists(config_file)) {
    auto config = workflows::load_config(config_file, config_file.string());
    if (!config) {
      for (const auto& d : config.error()) std::cerr << d.format() << "\n";
      return tl::unexpected(1);
    }
    config_redis = config->redis;
    store_options.key_prefix = config->key_prefix;
    store_options.partitions = config->partitions;
    config_dir = config->base_dir;
    opened.config = std::move(*config);
  } else if (!config_path.empty()) {
    std::cerr << fmt::format("error: no config at {}\n", config_path);
    return tl::unexpected(2);
  }
  const engine::StoreTarget target = engine::resolve_store_target(redis_flag, config_redis, config_dir);
  if (target.url.empty()) {
    std::cerr << fmt::format("error: no nurture daemon is running for {} (start `nurture run {}` or pass --redis)\n",
                             config_dir.string(), config_dir.string());
    return tl::unexpected(3);
  }
  auto connection = engine::redis::RedisConnection::open(target.url);
  if (!connection) {
    std::cerr << "error: " << connection.error()
              << (target.embedded ? fmt::format(" (start `nurture run {}` or pass --redis)", config_dir.string())
                                  : "")
              << "\n";
    return tl::unexpected(3);
  }
  opened.store = std::make_unique<engine::redis::RedisStore>(std::move(*connection), store_options);
  return opened;
}

// The whole of FILE, or of standard input for "" or "-"; nothing (and a message) when it cannot be read.
std::optional<std::string> read_input(const std::string& file) {
  std::stringstream buffer;
  if (file.empty() || file == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << fmt::format("error: cannot read {}\n", file);
    return std::nullopt;
  }
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace nurture::cli
