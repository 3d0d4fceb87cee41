// `nurture run`: the daemon's command line (engine/cli/daemon.cpp assembles it).

#include <iostream>

#include "connectors/builtins.hpp"
#include "engine/cli/command.hpp"
#include "engine/cli/daemon.hpp"
#include "workflows/duration.hpp"

namespace nurture::cli {

namespace {

// A positive duration such as 30s; nothing (and a message naming the flag) otherwise.
std::optional<std::chrono::milliseconds> positive_duration(const std::string& text, const char* flag,
                                                           const char* example) {
  auto duration = workflows::parse_duration(text);
  if (!duration || duration->count() == 0) {
    std::cerr << "error: " << flag << " takes a duration such as " << example << "\n";
    return std::nullopt;
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*duration);
}

}  // namespace

Command add_run(CLI::App& app) {
  struct Flags {
    engine::DaemonOptions daemon;
    std::string dir = ".", config, redis;
    std::string lease = "60s", redis_timeout = "10s";
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("run", "the daemon: ingest, timers, dispatch");
  command->add_option("dir", flags->dir, "campaign directory")->capture_default_str();
  command->add_option("--config", flags->config, "config file (default DIR/nurture.yaml)");
  command->add_option("--redis", flags->redis, "redis://host:port/db, unix:///path or redis-cluster://host:port,... (default: config `redis:`)");
  command->add_option("--consumer", flags->daemon.consumer, "consumer name in the groups (default: hostname)");
  command->add_option("--lease", flags->lease, "take over what another engine left unacknowledged this long (e.g. 30s)")
      ->capture_default_str();
  command->add_option("--redis-timeout", flags->redis_timeout, "a Redis command unanswered this long fails and is retried")
      ->capture_default_str();
  return {command, [flags] {
            engine::DaemonOptions options = flags->daemon;
            options.dir = flags->dir;
            options.config = flags->config;
            options.redis = flags->redis;
            const auto lease = positive_duration(flags->lease, "--lease", "30s");
            const auto timeout = positive_duration(flags->redis_timeout, "--redis-timeout", "10s");
            if (!lease || !timeout) return 2;
            options.lease = *lease;
            options.redis_timeout = *timeout;
            sdk::Registry registry;
            connectors::register_builtin_connectors(registry);
            return engine::run_daemon(options, registry);
          }};
}

}  // namespace nurture::cli
