#pragma once
// `nurture run`: the daemon.

#include <chrono>
#include <filesystem>
#include <string>

#include "nurture/sdk/connector.hpp"

namespace nurture::engine {

struct DaemonOptions {
  std::filesystem::path dir = ".";
  std::filesystem::path config;  // empty: DIR/nurture.yaml
  std::string redis;             // --redis; empty: env or config
  std::string consumer;          // consumer-group name; empty: hostname
  std::chrono::milliseconds lease{60000};  // take over what a silent engine holds after this long
  std::chrono::milliseconds redis_timeout{10000};  // a Redis command unanswered this long fails (and is retried)
};

// Returns the process exit code: 0 after a clean stop, 1 invalid campaign, 3 store unreachable.
int run_daemon(const DaemonOptions& options, const sdk::Registry& registry);

}  // namespace nurture::engine
