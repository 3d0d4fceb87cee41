#pragma once
// What the benchmark programs share: a throwaway campaign directory, a Redis connection that must open, and the
// clean-up of a run's keys.

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "engine/store/redis/redis_connection.hpp"
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

}  // namespace nurture::bench
