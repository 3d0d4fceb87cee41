#pragma once
// What a RedisConnection is made of: one server, or a Redis Cluster (cluster_connection.cpp). Private to
// engine/store/redis.

#include "engine/store/redis/redis_connection.hpp"
#include "text/url.hpp"

namespace nurture::engine::redis {

class RedisConnection::Impl {
 public:
  virtual ~Impl() = default;
  virtual bool clustered() const = 0;
  virtual std::vector<RedisReply> pipeline(const std::vector<Command>& commands) = 0;
  // SCRIPT LOAD on every server that may run it.
  virtual RedisReply load_script(const std::string& source) = 0;
  virtual RedisReply scan_keys(const std::string& match, int count,
                               const std::function<bool(std::vector<std::string>&)>& visit) = 0;
  virtual std::vector<RedisReply> on_every_master(const Command& command) = 0;
  virtual RedisReply wait_replicas(const std::vector<std::string>& keys, int replicas,
                                   std::chrono::milliseconds timeout) = 0;
};

// A Redis Cluster from its seed nodes; fails with the reason when no seed tells a slot map that covers every slot.
Expected<std::unique_ptr<RedisConnection::Impl>> open_cluster(const std::vector<text::RedisNode>& seeds,
                                                             std::chrono::milliseconds timeout);

}  // namespace nurture::engine::redis
