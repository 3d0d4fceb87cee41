#pragma once
// A synchronous Redis connection over hiredis, with pipelining and Lua scripts by SHA, to one Redis or to a Redis
// Cluster (commands routed by the slot of their key, MOVED and ASK followed). hiredis stays inside
// engine/store/redis/: replies are built as RedisReply, which owns its data.

#include "nurture/error.hpp"
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace nurture::engine::redis {

struct RedisReply {
  enum class Type { nil, integer, string, status, error, array, io_error };
  Type type = Type::nil;
  long long integer = 0;
  std::string text;  // string, status, error, io_error
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::error || type == Type::io_error; }
  bool is_nil() const { return type == Type::nil; }
  std::string describe() const;  // for logs and errors
};

using Command = std::vector<std::string>;

struct Script {
  std::string source;
  std::string sha;  // filled by load
};

class RedisConnection {
 public:
  // `redis://host:port/db`, `unix:///path/to.sock`, `redis-cluster://host:port,host:port` (seed nodes). A command
  // that gets no answer within `timeout` fails as an io_error (the connection is made anew on the next call).
  static Expected<std::unique_ptr<RedisConnection>> open(
      const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  RedisReply command(const Command& args);
  // One reply per command, in order. On a cluster each command goes to the master of its key's slot (a MULTI ...
  // EXEC block as one, by its first key); commands to different masters are not ordered among themselves. A
  // command whose keys span slots must not be sent to a cluster, except XREADGROUP over several streams, which is
  // read stream by stream (and blocks, when asked to, on its first stream only).
  std::vector<RedisReply> pipeline(const std::vector<Command>& commands);
  // EVALSHA, loading the script first if the server does not know it (first use, or after a restart).
  RedisReply eval(Script& script, const std::vector<std::string>& keys, const std::vector<std::string>& args);
  // The EVALSHA command for a pipeline; call ensure_loaded() first. Keys and arguments are moved in (a commit
  // call carries ~50 strings per lead).
  static Command evalsha_command(const Script& script, std::vector<std::string> keys, std::vector<std::string> args);
  bool ensure_loaded(Script& script);

  const std::string& url() const { return url_; }
  bool clustered() const;

  class Impl;  // one server or a cluster (connection_impl.hpp)

  // SCAN of the whole keyspace (of each master in turn on a cluster): `visit` gets the keys of each page and
  // returns false to stop. Returns the error reply that stopped it, or a nil reply.
  RedisReply scan_keys(const std::string& match, int count, const std::function<bool(std::vector<std::string>&)>& visit);
  // A command without keys (INFO, say) run on the one server, or on every master of a cluster: one reply each.
  std::vector<RedisReply> on_every_master(const Command& command);
  // WAIT until `replicas` replicas of each server holding one of `keys` have this connection's writes so far, or
  // `timeout` passed. Returns the fewest replicas that acknowledged (an integer reply), or the error.
  RedisReply wait_replicas(const std::vector<std::string>& keys, int replicas, std::chrono::milliseconds timeout);

 private:
  RedisConnection() = default;
  std::unique_ptr<Impl> impl_;
  std::string url_;
};

}  // namespace nurture::engine::redis
