#pragma once
// One hiredis context to one Redis server, made again after it broke. Private to engine/store/redis: the
// connection (one server) and the cluster client (one link per master) are built from it.

#include "engine/store/redis/redis_connection.hpp"
#include "text/url.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

struct redisContext;

namespace nurture::engine::redis {

RedisReply io_error(const std::string& what);

class NodeLink {
 public:
  NodeLink(text::RedisAddress address, std::chrono::milliseconds timeout);
  ~NodeLink();
  NodeLink(const NodeLink&) = delete;
  NodeLink& operator=(const NodeLink&) = delete;

  bool ensure_connected();
  std::string error() const;
  // Appends the commands and writes them all; false when the socket broke (the context is then replaced later).
  // Call ensure_connected() first.
  bool send(const std::vector<const Command*>& commands);
  // The next `count` replies; from the first that cannot be read on, each is an io_error.
  std::vector<RedisReply> receive(std::size_t count);
  std::vector<RedisReply> pipeline(const std::vector<Command>& commands);
  // SCAN of this server's keyspace: `visit` gets each page's keys, false stops. The error that stopped it, or nil.
  RedisReply scan_keys(const std::string& match, int count, const std::function<bool(std::vector<std::string>&)>& visit);

 private:
  bool connect();

  text::RedisAddress address_;
  std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
  std::string framing_;  // the RESP of the batch being sent, reused from batch to batch
};

}  // namespace nurture::engine::redis
