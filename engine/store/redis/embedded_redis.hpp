#pragma once
// `redis: auto`: a private redis-server for one campaign directory, on a unix socket under DIR/.nurture/, AOF on
// (appendfsync everysec), stopped when its owner goes away. Tests start theirs the same way.

#include "nurture/error.hpp"
#include <filesystem>
#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "process/child.hpp"

namespace nurture::engine::redis {

class EmbeddedRedis {
 public:
  struct Options {
    bool append_only = true;
  };
  // `state_dir` is DIR/.nurture (created if needed); data, AOF and log live there.
  static Expected<std::unique_ptr<EmbeddedRedis>> start(const std::filesystem::path& state_dir,
                                                                          Options options);
  static Expected<std::unique_ptr<EmbeddedRedis>> start(const std::filesystem::path& state_dir) {
    return start(state_dir, Options{});
  }
  ~EmbeddedRedis();  // SIGTERM: redis flushes the AOF and exits; then reaped

  const std::string& url() const { return url_; }
  int pid() const { return server_.pid(); }
  // Stops the server the way a crash would (SIGKILL), for recovery tests.
  void kill_hard();

 private:
  EmbeddedRedis() = default;
  process::Child server_;
  std::string url_;
  std::filesystem::path socket_;
  std::filesystem::path path_file_;
};

// The socket a client uses to reach the daemon of DIR (with the redis.path indirection the daemon writes for paths
// too long for a unix socket); empty when no daemon seems to be running.
std::filesystem::path embedded_socket_path(const std::filesystem::path& state_dir);

}  // namespace nurture::engine::redis
