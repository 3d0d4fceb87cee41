#pragma once
// A synchronous Redis connection over hiredis, with pipelining and Lua scripts by SHA. hiredis stays inside
// engine/store/redis/: replies are copied into RedisReply, which owns its data.

#include "nurture/error.hpp"
#include <chrono>
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
  // `redis://host:port/db`, `unix:///path/to.sock`. A command that gets no answer within `timeout` fails as an
  // io_error (the connection is made anew on the next call).
  static Expected<std::unique_ptr<RedisConnection>> open(
      const std::string& url, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  RedisReply command(const Command& args);
  std::vector<RedisReply> pipeline(const std::vector<Command>& commands);
  // EVALSHA, loading the script first if the server does not know it (first use, or after a restart).
  RedisReply eval(Script& script, const std::vector<std::string>& keys, const std::vector<std::string>& args);
  // The EVALSHA command for a pipeline; call ensure_loaded() first.
  static Command evalsha_command(const Script& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args);
  bool ensure_loaded(Script& script);

  const std::string& url() const { return url_; }

 private:
  RedisConnection() = default;
  bool reconnect();
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string url_;
};

}  // namespace nurture::engine::redis
