#pragma once
// Which Redis a command talks to: --redis URL, else $NURTURE_REDIS, else the
// config's `redis:`; `auto` means the campaign's private server under DIR/.nurture/.

#include <filesystem>
#include <string>

namespace nurture::engine {

struct StoreTarget {
  std::string url;                   // empty when embedded and not running
  bool embedded = false;             // `redis: auto`
  std::filesystem::path state_dir;   // DIR/.nurture when embedded
};

StoreTarget resolve_store_target(const std::string& flag, const std::string& config_redis,
                                 const std::filesystem::path& config_dir);

}  // namespace nurture::engine
