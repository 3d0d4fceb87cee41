// hiredis, blocking, one context per RedisConnection. A broken connection (I/O error) is replaced on the next
// call, so a Redis restart costs the caller one failed call, not a dead engine.

#include "engine/store/redis/redis_connection.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include "text/url.hpp"

#include <algorithm>
#include <memory>

namespace nurture::engine::redis {

struct RedisConnection::Impl {
  redisContext* context = nullptr;
  std::string host;
  int port = 6379;
  std::string unix_path;
  int db = 0;
  std::chrono::milliseconds timeout{10000};

  ~Impl() {
    if (context) redisFree(context);
  }
};

std::string RedisReply::describe() const {
  switch (type) {
    case Type::nil: return "(nil)";
    case Type::integer: return std::to_string(integer);
    case Type::string:
    case Type::status: return text;
    case Type::error: return "ERR " + text;
    case Type::io_error: return "I/O error: " + text;
    case Type::array: return fmt::format("[{} elements]", elements.size());
  }
  return "?";
}

namespace {

// hiredis's reader builds our replies directly (its object functions), instead of its own tree that would then be
// copied: a reply is parsed once and every string allocated once. A child is built in place in its parent's
// elements, sized when the array was read, so its address is stable; only the root is allocated on its own (and
// freed by hiredis only when a reply breaks off mid-way).
RedisReply* reply_slot(const redisReadTask* task) {
  if (task->parent) {
    auto* parent = static_cast<RedisReply*>(task->parent->obj);
    return &parent->elements[static_cast<std::size_t>(task->idx)];
  }
  return new RedisReply();
}

void* create_string(const redisReadTask* task, char* text, size_t length) noexcept {
  try {
    RedisReply* reply = reply_slot(task);
    reply->type = task->type == REDIS_REPLY_ERROR    ? RedisReply::Type::error
                  : task->type == REDIS_REPLY_STATUS ? RedisReply::Type::status
                                                     : RedisReply::Type::string;
    reply->text.assign(text, length);
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;  // hiredis reports it as out of memory
  }
}

void* create_array(const redisReadTask* task, int elements) noexcept {
  try {
    RedisReply* reply = reply_slot(task);
    reply->type = RedisReply::Type::array;
    reply->elements.resize(static_cast<std::size_t>(std::max(elements, 0)));
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void* create_integer(const redisReadTask* task, long long value) noexcept {
  try {
    RedisReply* reply = reply_slot(task);
    reply->type = RedisReply::Type::integer;
    reply->integer = value;
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void* create_nil(const redisReadTask* task) noexcept {
  try {
    RedisReply* reply = reply_slot(task);
    reply->type = RedisReply::Type::nil;
    return reply;
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}

void free_reply(void* reply) noexcept { delete static_cast<RedisReply*>(reply); }

redisReplyObjectFunctions reply_functions{create_string, create_array, create_integer, create_nil, free_reply};

RedisReply io_error(const char* what) { return {RedisReply::Type::io_error, 0, what ? what : "connection lost", {}}; }

void append_number(std::string& out, std::size_t n) {
  char digits[24];
  char* end = digits + sizeof(digits);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

// RESP framing of one command, written here rather than by hiredis: its formatter goes through sdscatfmt for every
// argument, which was a seventh of the engine's time on commit scripts with thousands of arguments.
void append(redisContext* context, const Command& args) {
  std::size_t size = 16;
  for (const auto& a : args) size += a.size() + 16;
  std::string resp;
  resp.reserve(size);
  resp += '*';
  append_number(resp, args.size());
  resp += "\r\n";
  for (const auto& a : args) {
    resp += '$';
    append_number(resp, a.size());
    resp += "\r\n";
    resp += a;
    resp += "\r\n";
  }
  redisAppendFormattedCommand(context, resp.data(), resp.size());
}

}  // namespace

Expected<std::unique_ptr<RedisConnection>> RedisConnection::open(const std::string& url,
                                                                                std::chrono::milliseconds timeout) {
  std::unique_ptr<RedisConnection> connection(new RedisConnection());
  connection->impl_ = std::make_unique<Impl>();
  connection->impl_->timeout = timeout;
  connection->url_ = url;
  auto address = text::parse_redis_url(url);
  if (!address) return fail(fmt::format("\"{}\": {}", url, address.error()));
  connection->impl_->unix_path = address->unix_path;
  connection->impl_->host = address->host;
  connection->impl_->port = address->port;
  connection->impl_->db = address->db;
  if (!connection->reconnect()) {
    std::string why = connection->impl_->context && connection->impl_->context->err
                          ? connection->impl_->context->errstr
                          : "no answer";
    return fail(fmt::format("cannot reach Redis at {}: {}", url, why));
  }
  return connection;
}

RedisConnection::~RedisConnection() = default;

bool RedisConnection::reconnect() {
  if (impl_->context) {
    redisFree(impl_->context);
    impl_->context = nullptr;
  }
  const timeval timeout{5, 0};
  impl_->context = impl_->unix_path.empty()
                       ? redisConnectWithTimeout(impl_->host.c_str(), impl_->port, timeout)
                       : redisConnectUnixWithTimeout(impl_->unix_path.c_str(), timeout);
  if (!impl_->context || impl_->context->err) return false;
  // Every read and write has a deadline: a Redis that stops answering (paused, overloaded, a dead peer behind a
  // live socket) becomes an error the caller retries with backoff, never a daemon hung in recv().
  const timeval command_timeout{static_cast<time_t>(impl_->timeout.count() / 1000),
                                static_cast<suseconds_t>((impl_->timeout.count() % 1000) * 1000)};
  if (redisSetTimeout(impl_->context, command_timeout) != REDIS_OK) return false;
  impl_->context->reader->fn = &reply_functions;
  if (impl_->db != 0) {
    const RedisReply selected = pipeline({{"SELECT", std::to_string(impl_->db)}}).front();
    return !selected.is_error();
  }
  return true;
}

RedisReply RedisConnection::command(const Command& args) { return pipeline({args}).front(); }

std::vector<RedisReply> RedisConnection::pipeline(const std::vector<Command>& commands) {
  std::vector<RedisReply> replies;
  replies.reserve(commands.size());
  if ((!impl_->context || impl_->context->err) && !reconnect()) {
    const char* why = impl_->context ? impl_->context->errstr : "cannot connect";
    for (std::size_t i = 0; i < commands.size(); ++i) replies.push_back(io_error(why));
    return replies;
  }
  for (const auto& c : commands) append(impl_->context, c);
  for (std::size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(impl_->context, &raw) != REDIS_OK || !raw) {
      const RedisReply failure = io_error(impl_->context->errstr);
      while (replies.size() < commands.size()) replies.push_back(failure);
      return replies;
    }
    std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));
    replies.push_back(std::move(*reply));
  }
  return replies;
}

bool RedisConnection::ensure_loaded(Script& script) {
  if (!script.sha.empty()) return true;
  RedisReply reply = command({"SCRIPT", "LOAD", script.source});
  if (reply.type != RedisReply::Type::string) return false;
  script.sha = reply.text;
  return true;
}

Command RedisConnection::evalsha_command(const Script& script, const std::vector<std::string>& keys,
                                         const std::vector<std::string>& args) {
  Command c{"EVALSHA", script.sha, std::to_string(keys.size())};
  c.insert(c.end(), keys.begin(), keys.end());
  c.insert(c.end(), args.begin(), args.end());
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
