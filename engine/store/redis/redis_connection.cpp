// The connection callers use: to one Redis server (here) or to a Redis Cluster (cluster_connection.cpp).

#include "engine/store/redis/redis_connection.hpp"

#include <fmt/format.h>

#include "engine/store/redis/connection_impl.hpp"
#include "engine/store/redis/node_link.hpp"

namespace nurture::engine::redis {

namespace {

class SingleServer final : public RedisConnection::Impl {
 public:
  SingleServer(text::RedisAddress address, std::chrono::milliseconds timeout) : link_(std::move(address), timeout) {}
  bool connect() { return link_.ensure_connected(); }
  std::string error() const { return link_.error(); }

  bool clustered() const override { return false; }
  std::vector<RedisReply> pipeline(const std::vector<Command>& commands) override { return link_.pipeline(commands); }
  RedisReply load_script(const std::string& source) override {
    return std::move(link_.pipeline({{"SCRIPT", "LOAD", source}}).front());
  }
  RedisReply scan_keys(const std::string& match, int count,
                       const std::function<bool(std::vector<std::string>&)>& visit) override {
    return link_.scan_keys(match, count, visit);
  }
  std::vector<RedisReply> on_every_master(const Command& command) override { return link_.pipeline({command}); }
  RedisReply wait_replicas(const std::vector<std::string>&, int replicas, std::chrono::milliseconds timeout) override {
    return std::move(link_.pipeline({{"WAIT", std::to_string(replicas), std::to_string(timeout.count())}}).front());
  }

 private:
  NodeLink link_;
};

}  // namespace

Expected<std::unique_ptr<RedisConnection>> RedisConnection::open(const std::string& url,
                                                                 std::chrono::milliseconds timeout) {
  auto address = text::parse_redis_url(url);
  if (!address) return fail(fmt::format("\"{}\": {}", url, address.error()));
  std::unique_ptr<RedisConnection> connection(new RedisConnection());
  connection->url_ = url;
  if (!address->cluster_seeds.empty()) {
    auto cluster = open_cluster(address->cluster_seeds, timeout);
    if (!cluster) return fail(fmt::format("cannot use the Redis Cluster at {}: {}", url, cluster.error().message));
    connection->impl_ = std::move(*cluster);
    return connection;
  }
  auto single = std::make_unique<SingleServer>(*address, timeout);
  if (!single->connect()) return fail(fmt::format("cannot reach Redis at {}: {}", url, single->error()));
  connection->impl_ = std::move(single);
  return connection;
}

RedisConnection::~RedisConnection() = default;

bool RedisConnection::clustered() const { return impl_->clustered(); }

RedisReply RedisConnection::command(const Command& args) { return std::move(impl_->pipeline({args}).front()); }

std::vector<RedisReply> RedisConnection::pipeline(const std::vector<Command>& commands) {
  if (commands.empty()) return {};
  return impl_->pipeline(commands);
}

RedisReply RedisConnection::scan_keys(const std::string& match, int count,
                                      const std::function<bool(std::vector<std::string>&)>& visit) {
  return impl_->scan_keys(match, count, visit);
}

std::vector<RedisReply> RedisConnection::on_every_master(const Command& command) {
  return impl_->on_every_master(command);
}

RedisReply RedisConnection::wait_replicas(const std::vector<std::string>& keys, int replicas,
                                          std::chrono::milliseconds timeout) {
  return impl_->wait_replicas(keys, replicas, timeout);
}

bool RedisConnection::ensure_loaded(Script& script) {
  if (!script.sha.empty()) return true;
  RedisReply reply = impl_->load_script(script.source);
  if (reply.type != RedisReply::Type::string) return false;
  script.sha = reply.text;
  return true;
}

Command RedisConnection::evalsha_command(const Script& script, std::vector<std::string> keys,
                                         std::vector<std::string> args) {
  Command c;
  c.reserve(3 + keys.size() + args.size());
  c.insert(c.end(), {"EVALSHA", script.sha, std::to_string(keys.size())});
  c.insert(c.end(), std::make_move_iterator(keys.begin()), std::make_move_iterator(keys.end()));
  c.insert(c.end(), std::make_move_iterator(args.begin()), std::make_move_iterator(args.end()));
  return c;
}

RedisReply RedisConnection::eval(Script& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args) {
  if (!ensure_loaded(script)) return io_error("cannot load a Lua script");
  RedisReply reply = command(evalsha_command(script, keys, args));
  if (reply.type == RedisReply::Type::error && reply.text.rfind("NOSCRIPT", 0) == 0) {
    script.sha.clear();
    if (!ensure_loaded(script)) return io_error("cannot load a Lua script");
    reply = command(evalsha_command(script, keys, args));
  }
  return reply;
}

}  // namespace nurture::engine::redis
