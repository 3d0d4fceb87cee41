#include "engine/store/store_target.hpp"

#include <cstdlib>

#include "engine/store/redis/embedded_redis.hpp"

namespace nurture::engine {

StoreTarget resolve_store_target(const std::string& flag, const std::string& config_redis,
                                 const std::filesystem::path& config_dir) {
  StoreTarget target;
  std::string url = flag;
  if (url.empty()) {
    const char* env = std::getenv("NURTURE_REDIS");
    if (env && *env) url = env;
  }
  if (url.empty()) url = config_redis.empty() ? "auto" : config_redis;
  if (url != "auto") {
    target.url = url;
    return target;
  }
  target.embedded = true;
  target.state_dir = config_dir / ".nurture";
  const auto socket = redis::embedded_socket_path(target.state_dir);
  if (!socket.empty()) target.url = "unix://" + socket.string();
  return target;
}

}  // namespace nurture::engine
