#pragma once
// A real Redis Cluster for tests: 3 masters with a replica each (6 local redis-servers, AOF on), made with
// `redis-cli --cluster create`, stopped at the end of the test. Kill a master, reshard slots, ask who serves a slot.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/store/redis/redis_connection.hpp"
#include "tests/support/process.hpp"

namespace nurture::testing {

class RedisCluster {
 public:
  explicit RedisCluster(const std::filesystem::path& dir, int masters = 3);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // redis-cluster://127.0.0.1:P0,127.0.0.1:P1 (two seeds).
  std::string url() const;
  std::unique_ptr<engine::redis::RedisConnection> connect() const;
  int nodes() const { return static_cast<int>(ports_.size()); }
  int port(int node) const { return ports_[static_cast<std::size_t>(node)]; }
  // A node's own answer to a command (no routing), e.g. ROLE or CLUSTER INFO.
  engine::redis::RedisReply ask(int node, const engine::redis::Command& command) const;
  // The node serving `key`'s slot as master now, from a live node's CLUSTER SLOTS; -1 when unknown.
  int master_of(const std::string& key) const;
  bool is_master(int node) const;
  // SIGKILL, as a crashed machine; restart() brings it back with its files (a killed master rejoins as a replica).
  void kill(int node);
  void restart(int node);
  bool alive(int node) const;
  // Waits until every live node says cluster_state:ok and every slot has a live master; false after `timeout`.
  bool wait_healthy(std::chrono::seconds timeout) const;
  // Moves `slots` slots from master `from` to master `to` (redis-cli --cluster reshard); the exit code.
  int reshard(int from, int to, int slots);

 private:
  void start_node(int node);
  std::string node_id(int node) const;

  std::filesystem::path dir_;
  std::vector<int> ports_;
  std::vector<std::unique_ptr<ChildProcess>> servers_;
};

}  // namespace nurture::testing
