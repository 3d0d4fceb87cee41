#include "bench/support/bench_support.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "engine/runtime/pinned_versions.hpp"

namespace nurture::bench {

namespace fs = std::filesystem;

namespace {
// Benchmarks print their results (JSON, tables) on stdout; the engine's log lines go to stderr.
const bool logs_to_stderr = [] {
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));
  return true;
}();
}  // namespace

TempCampaign::TempCampaign(const std::string& name, const std::map<std::string, std::string>& files)
    : dir_(fs::temp_directory_path() / fmt::format("nurture-bench-{}-{}", name, ::getpid())) {
  for (const auto& [path, text] : files) {
    fs::create_directories((dir_ / path).parent_path());
    std::ofstream(dir_ / path) << text;
  }
  auto load = workflows::load_campaign(dir_);
  if (!load.ok()) {
    for (const auto& d : load.diagnostics) std::cerr << d.format() << "\n";
    std::exit(1);
  }
  campaign_ = std::move(load.campaign);
}

TempCampaign::~TempCampaign() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::unique_ptr<engine::redis::RedisConnection> connect_or_exit(const std::string& url) {
  auto connection = engine::redis::RedisConnection::open(url);
  if (!connection) {
    std::cerr << connection.error().format() << "\n";
    std::exit(3);
  }
  return std::move(*connection);
}

void delete_keys(engine::redis::RedisConnection& redis, const std::string& prefix) {
  redis.scan_keys(prefix + "*", 10000, [&](std::vector<std::string>& keys) {
    std::vector<engine::redis::Command> deletes;
    for (const auto& key : keys) deletes.push_back({"UNLINK", key});
    redis.pipeline(deletes);
    return true;
  });
}

long long RedisUsage::total_calls() const {
  long long total = 0;
  for (const auto& [command, n] : calls) total += n;
  return total;
}

RedisUsage RedisUsage::since(const RedisUsage& before) const {
  RedisUsage delta;
  delta.cpu_s = cpu_s - before.cpu_s;
  for (const auto& [command, n] : calls) {
    auto it = before.calls.find(command);
    const long long d = n - (it == before.calls.end() ? 0 : it->second);
    if (d > 0) delta.calls[command] = d;
  }
  return delta;
}

// On a cluster, the sum over its masters.
RedisUsage redis_usage(engine::redis::RedisConnection& redis) {
  RedisUsage usage;
  for (const auto& reply : redis.on_every_master({"INFO", "ALL"})) {
    std::istringstream info(reply.text);
    std::string line;
    while (std::getline(info, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("used_cpu_user:", 0) == 0 || line.rfind("used_cpu_sys:", 0) == 0) {
        usage.cpu_s += std::stod(line.substr(line.find(':') + 1));
      } else if (line.rfind("cmdstat_", 0) == 0) {  // cmdstat_hset:calls=12,usec=...
        const auto colon = line.find(':');
        const auto calls = line.find("calls=", colon);
        if (colon == std::string::npos || calls == std::string::npos) continue;
        usage.calls[line.substr(8, colon - 8)] += std::stoll(line.substr(calls + 6));
      }
    }
  }
  return usage;
}

namespace {
double cpu_s(int who) {
  rusage used{};
  ::getrusage(who, &used);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return seconds(used.ru_utime) + seconds(used.ru_stime);
}
}  // namespace

double process_cpu_s() { return cpu_s(RUSAGE_SELF); }
double children_cpu_s() { return cpu_s(RUSAGE_CHILDREN); }
double thread_cpu_s() { return cpu_s(RUSAGE_THREAD); }

void add_cost(nlohmann::ordered_json& result, const std::string& unit, double units, double engine_cpu_s,
              const RedisUsage& redis) {
  auto per_unit = [units](double x) { return std::round(x / std::max(units, 1.0) * 10) / 10; };
  result["cpu_us_per_" + unit + "_engine"] = per_unit(engine_cpu_s * 1e6);
  result["cpu_us_per_" + unit + "_redis"] = per_unit(redis.cpu_s * 1e6);
  result["redis_commands_per_" + unit] = per_unit(static_cast<double>(redis.total_calls()));
  std::vector<std::pair<long long, std::string>> most;
  for (const auto& [command, n] : redis.calls) most.emplace_back(n, command);
  std::sort(most.rbegin(), most.rend());
  nlohmann::ordered_json top = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < std::min<std::size_t>(5, most.size()); ++i) {
    top[most[i].second] = per_unit(static_cast<double>(most[i].first));
  }
  result["redis_top_commands_per_" + unit] = top;
}

Workers::Workers(const std::string& url, const std::string& key_prefix, const workflows::Campaign& campaign,
                 const templates::TemplateLibrary& templates, const engine::ConnectorSet& connectors,
                 const engine::Clock& clock, int workers) {
  engine::WorkflowVersions versions;
  for (int i = 1; i <= std::max(workers, 1); ++i) {
    const std::string consumer = i == 1 ? "bench" : fmt::format("bench-{}", i);
    engine::redis::RedisStoreOptions options{key_prefix, 16, consumer, std::chrono::hours(24), std::chrono::hours(24)};
    // bench/commit captures the commit script's calls: it asks for them on one server too.
    options.commit_by_script = std::getenv("NURTURE_BENCH_COMMIT_BY_SCRIPT") != nullptr;
    stores_.push_back(std::make_unique<engine::redis::RedisStore>(connect_or_exit(url), options));
    engine::redis::RedisStore& state = *stores_.back();
    stores_.push_back(std::make_unique<engine::redis::RedisStore>(connect_or_exit(url), options));
    engine::redis::RedisStore& dispatch = *stores_.back();
    if (i == 1) {
      state.prepare();
      versions = engine::pin_versions(state, campaign);
    }
    engines_.push_back(
        std::make_unique<engine::Engine>(state, dispatch, campaign, templates, connectors, clock, versions));
  }
}

Workers::~Workers() { stop(); }

void Workers::start_loops() {
  for (auto& engine : engines_) {
    engine::Engine* e = engine.get();
    threads_.emplace_back([this, e] {
      bool idle = false;
      while (!stop_) idle = e->run_state_once(std::chrono::milliseconds(idle ? 1 : 0)) == 0;
    });
    threads_.emplace_back([this, e] {
      while (!stop_) e->run_dispatch_once(std::chrono::milliseconds(5));
    });
  }
}

void Workers::stop() {
  stop_ = true;
  for (auto& thread : threads_) thread.join();
  threads_.clear();
}

}  // namespace nurture::bench
