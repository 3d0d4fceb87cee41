#include "tests/support/redis_cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <string_view>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "engine/store/redis/cluster_routing.hpp"
#include "tests/support/fixtures.hpp"

namespace nurture::testing {

namespace fs = std::filesystem;
using engine::redis::Command;
using engine::redis::RedisConnection;
using engine::redis::RedisReply;
using namespace std::chrono;

namespace {

std::unique_ptr<RedisConnection> open_or_null(const std::string& url, milliseconds timeout = seconds(2)) {
  auto connection = RedisConnection::open(url, timeout);
  return connection ? std::move(*connection) : nullptr;
}

// Whether 127.0.0.1:port can be bound now (a listener or a connection's local end holds it otherwise).
bool can_bind(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return bound;
}

// A port P free with its cluster bus port P + 10000 free too. Both are in the ephemeral range, where another
// test's connection may take one before redis-server binds it: the constructor tries another then.
int free_cluster_port() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int port = free_tcp_port();
    if (port + 10000 > 65535 || !can_bind(port + 10000)) continue;
    return port;
  }
  throw std::runtime_error("no free port for a cluster node");
}

}  // namespace

RedisCluster::RedisCluster(const fs::path& dir, int masters) : dir_(dir) {
  const int count = masters * 2;
  for (int node = 0; node < count; ++node) {
    int port = free_cluster_port();
    while (std::find(ports_.begin(), ports_.end(), port) != ports_.end()) port = free_cluster_port();
    ports_.push_back(port);
  }
  servers_.resize(static_cast<std::size_t>(count));
  for (int node = 0; node < count; ++node) {
    for (int attempt = 1;; ++attempt) {
      try {
        start_node(node);
        break;
      } catch (const std::runtime_error& e) {
        const bool taken = std::string_view(e.what()).find("Address already in use") != std::string_view::npos;
        if (!taken || attempt == 5) throw;
        int port = free_cluster_port();
        while (std::find(ports_.begin(), ports_.end(), port) != ports_.end()) port = free_cluster_port();
        ports_[static_cast<std::size_t>(node)] = port;
      }
    }
  }
  std::vector<std::string> create{"redis-cli", "--cluster", "create"};
  for (int port : ports_) create.push_back(fmt::format("127.0.0.1:{}", port));
  create.insert(create.end(), {"--cluster-replicas", "1", "--cluster-yes"});
  if (run_command(create, dir_ / "create.log") != 0) {
    throw std::runtime_error("redis-cli --cluster create failed: " + read_file(dir_ / "create.log"));
  }
  if (!wait_healthy(seconds(30))) throw std::runtime_error("the test cluster did not become healthy");
  // Replicas in sync before a test kills a master (a failover needs a replica with the data).
  const auto deadline = steady_clock::now() + seconds(30);
  for (int node = 0; node < count; ++node) {
    while (!is_master(node) &&
           ask(node, {"INFO", "replication"}).text.find("master_link_status:up") == std::string::npos) {
      if (steady_clock::now() > deadline) throw std::runtime_error("a replica did not sync");
      std::this_thread::sleep_for(milliseconds(50));
    }
  }
}

RedisCluster::~RedisCluster() {
  for (auto& server : servers_) {
    if (server && server->running()) server->stop(SIGTERM, 5000);
  }
}

void RedisCluster::start_node(int node) {
  const fs::path home = dir_ / fmt::format("node{}", node);
  fs::create_directories(home);
  const int port = ports_[static_cast<std::size_t>(node)];
  // A short node timeout makes a failover take about a second and a half instead of fifteen.
  servers_[static_cast<std::size_t>(node)] = std::make_unique<ChildProcess>(
      std::vector<std::string>{"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",
                               "--cluster-enabled", "yes", "--cluster-config-file", (home / "nodes.conf").string(),
                               "--cluster-node-timeout", "1000", "--cluster-port", std::to_string(port + 10000),
                               "--dir", home.string(), "--appendonly", "yes", "--save", "", "--daemonize", "no"},
      home / "redis.log");
  const auto deadline = steady_clock::now() + seconds(20);
  ChildProcess& server = *servers_[static_cast<std::size_t>(node)];
  while (!open_or_null(fmt::format("redis://127.0.0.1:{}", port), milliseconds(500))) {
    if (!server.running() || steady_clock::now() > deadline) {
      throw std::runtime_error("redis-server did not start: " + read_file(home / "redis.log"));
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
}

std::string RedisCluster::url() const {
  return fmt::format("redis-cluster://127.0.0.1:{},127.0.0.1:{}", ports_[0], ports_[1]);
}

std::unique_ptr<RedisConnection> RedisCluster::connect() const {
  auto connection = RedisConnection::open(url());
  if (!connection) throw std::runtime_error(connection.error().message);
  return std::move(*connection);
}

RedisReply RedisCluster::ask(int node, const Command& command) const {
  auto connection = open_or_null(fmt::format("redis://127.0.0.1:{}", port(node)));
  if (!connection) return {RedisReply::Type::io_error, 0, "node down", {}};
  return connection->command(command);
}

bool RedisCluster::alive(int node) const { return servers_[static_cast<std::size_t>(node)]->running(); }

void RedisCluster::kill(int node) { servers_[static_cast<std::size_t>(node)]->stop(SIGKILL); }

void RedisCluster::restart(int node) { start_node(node); }

bool RedisCluster::is_master(int node) const {
  const RedisReply role = ask(node, {"ROLE"});
  return !role.elements.empty() && role.elements[0].text == "master";
}

int RedisCluster::master_of(const std::string& key) const {
  const int slot = engine::redis::cluster::key_slot(key);
  for (int node = 0; node < nodes(); ++node) {
    if (!servers_[static_cast<std::size_t>(node)]->running()) continue;
    auto map = engine::redis::cluster::SlotMap::from_cluster_slots(ask(node, {"CLUSTER", "SLOTS"}));
    if (!map) continue;
    for (int candidate = 0; candidate < nodes(); ++candidate) {
      if (map->master(slot).port == port(candidate)) return candidate;
    }
  }
  return -1;
}

bool RedisCluster::wait_healthy(seconds timeout) const {
  const auto deadline = steady_clock::now() + timeout;
  while (steady_clock::now() < deadline) {
    bool healthy = true;
    for (int node = 0; node < nodes() && healthy; ++node) {
      if (!servers_[static_cast<std::size_t>(node)]->running()) continue;
      healthy = ask(node, {"CLUSTER", "INFO"}).text.find("cluster_state:ok") != std::string::npos;
      // Every slot's master must be one that runs (a dead master is still listed until its replica takes over).
      auto map = engine::redis::cluster::SlotMap::from_cluster_slots(ask(node, {"CLUSTER", "SLOTS"}));
      healthy = healthy && map.has_value();
      for (const auto& master : map ? map->masters() : std::vector<engine::redis::cluster::NodeAddress>{}) {
        for (int candidate = 0; candidate < nodes(); ++candidate) {
          if (master.port == port(candidate) && !servers_[static_cast<std::size_t>(candidate)]->running()) {
            healthy = false;
          }
        }
      }
    }
    if (healthy) return true;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return false;
}

std::string RedisCluster::node_id(int node) const { return ask(node, {"CLUSTER", "MYID"}).text; }

int RedisCluster::reshard(int from, int to, int slots) {
  return run_command({"redis-cli", "--cluster", "reshard", fmt::format("127.0.0.1:{}", port(to)), "--cluster-from",
                      node_id(from), "--cluster-to", node_id(to), "--cluster-slots", std::to_string(slots),
                      "--cluster-yes", "--cluster-pipeline", "10"},
                     dir_ / "reshard.log");
}

}  // namespace nurture::testing
