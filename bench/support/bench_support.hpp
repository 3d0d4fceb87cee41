#pragma once
// What the benchmark programs share: a throwaway campaign directory, a Redis connection that must open, and the
// clean-up of a run's keys.

#include <filesystem>
#include <map>
#include <memory>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/runtime/engine.hpp"
#include "engine/store/redis/redis_connection.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "workflows/campaign.hpp"

namespace nurture::bench {

// Writes FILES (relative path -> text) into a fresh temporary directory, loads it as a campaign (exiting with its
// errors when it does not load) and removes the directory when the returned object goes.
class TempCampaign {
 public:
  TempCampaign(const std::string& name, const std::map<std::string, std::string>& files);
  ~TempCampaign();
  const workflows::Campaign& campaign() const { return campaign_; }

 private:
  std::filesystem::path dir_;
  workflows::Campaign campaign_;
};

// Opens a connection or exits with status 3 and the reason.
std::unique_ptr<engine::redis::RedisConnection> connect_or_exit(const std::string& url);

// UNLINKs every key starting with `prefix` (the run's own keys).
void delete_keys(engine::redis::RedisConnection& redis, const std::string& prefix);

// What redis-server has spent so far (INFO): CPU seconds (user + system) and calls per command, those a Lua
// script makes counted too. The difference of two readings is a run's cost.
struct RedisUsage {
  double cpu_s = 0;
  std::map<std::string, long long> calls;  // command -> calls
  long long total_calls() const;
  RedisUsage since(const RedisUsage& before) const;
};
RedisUsage redis_usage(engine::redis::RedisConnection& redis);

// CPU seconds (user + system) this process has used so far, all its threads; and its children that have ended
// and been waited for.
double process_cpu_s();
double children_cpu_s();
// CPU seconds the calling thread has used so far.
double thread_cpu_s();

// A run's cost per unit of work, as JSON members: cpu_us_per_<unit>_engine, cpu_us_per_<unit>_redis,
// redis_commands_per_<unit> and the five commands called most (calls per unit).
void add_cost(nlohmann::ordered_json& result, const std::string& unit, double units, double engine_cpu_s,
              const RedisUsage& redis);

// `workers` engines in this process, as the daemon's `workers:` runs them: each with a state and a dispatch store
// (connections) of its own, under the consumer names `bench`, `bench-2`, ...; the campaign's versions pinned once.
class Workers {
 public:
  Workers(const std::string& url, const std::string& key_prefix, const workflows::Campaign& campaign,
          const templates::TemplateLibrary& templates, const engine::ConnectorSet& connectors,
          const engine::Clock& clock, int workers);
  ~Workers();
  std::size_t size() const { return engines_.size(); }
  engine::Engine& engine(std::size_t i) { return *engines_[i]; }
  // The daemon's two loops per engine (lead state, dispatch), each on a thread, until stop() is called.
  void start_loops();
  void stop();

 private:
  std::vector<std::unique_ptr<engine::redis::RedisStore>> stores_;
  std::vector<std::unique_ptr<engine::Engine>> engines_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

}  // namespace nurture::bench
