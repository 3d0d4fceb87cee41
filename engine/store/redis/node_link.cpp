// hiredis, blocking, one context per server. Replies are built straight into RedisReply by hiredis's reader.

#include "engine/store/redis/node_link.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <memory>

namespace nurture::engine::redis {

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


// RESP framing of one command, written here rather than by hiredis: its formatter goes through sdscatfmt for every
// argument, which was a seventh of the engine's time on commit scripts with thousands of arguments. Written
// through a pointer into room made up front: a commit's block has dozens of short arguments, each appended piece
// by piece cost more than copying it.
void append_resp(std::string& out, const Command& args) {
  constexpr std::size_t header_room = 1 + 20 + 2;  // '*' or '$', a 64-bit length, CRLF
  std::size_t size = header_room;
  for (const auto& a : args) size += header_room + a.size() + 2;
  const std::size_t start = out.size();
  out.resize(start + size);
  char* p = out.data() + start;
  const auto header = [&p](char kind, std::size_t n) {
    *p++ = kind;
    p = std::to_chars(p, p + 20, n).ptr;
    *p++ = '\r';
    *p++ = '\n';
  };
  header('*', args.size());
  for (const auto& a : args) {
    header('$', a.size());
    std::memcpy(p, a.data(), a.size());
    p += a.size();
    *p++ = '\r';
    *p++ = '\n';
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
}

// What a link keeps of its last batch's framing buffer: enough for the usual batches, not a rare huge one's.
constexpr std::size_t kept_framing_bytes = 1 << 20;

}  // namespace

RedisReply io_error(const std::string& what) {
  return {RedisReply::Type::io_error, 0, what.empty() ? "connection lost" : what, {}};
}

NodeLink::NodeLink(text::RedisAddress address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {}

NodeLink::~NodeLink() {
  if (context_) redisFree(context_);
}

bool NodeLink::ensure_connected() { return (context_ && !context_->err) || connect(); }

std::string NodeLink::error() const { return context_ && context_->err ? context_->errstr : "cannot connect"; }

bool NodeLink::send(const std::vector<const Command*>& commands) {
  // The whole batch framed in one reused buffer and handed to hiredis at once: one copy into its output buffer
  // instead of a fresh string and a copy per command.
  framing_.clear();
  for (const Command* c : commands) append_resp(framing_, *c);
  redisAppendFormattedCommand(context_, framing_.data(), framing_.size());
  if (framing_.capacity() > kept_framing_bytes) std::string().swap(framing_);
  int done = 0;
  while (!done) {
    if (redisBufferWrite(context_, &done) != REDIS_OK) return false;
  }
  return true;
}

std::vector<RedisReply> NodeLink::receive(std::size_t count) {
  std::vector<RedisReply> replies;
  replies.reserve(count);
  while (replies.size() < count) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || !raw) break;
    std::unique_ptr<RedisReply> reply(static_cast<RedisReply*>(raw));
    replies.push_back(std::move(*reply));
  }
  if (replies.size() < count) {
    const RedisReply failure = io_error(context_->errstr);
    while (replies.size() < count) replies.push_back(failure);
  }
  return replies;
}

std::vector<RedisReply> NodeLink::pipeline(const std::vector<Command>& commands) {
  if (!ensure_connected()) return std::vector<RedisReply>(commands.size(), io_error(error()));
  std::vector<const Command*> pointers;
  pointers.reserve(commands.size());
  for (const auto& c : commands) pointers.push_back(&c);
  if (!send(pointers)) return std::vector<RedisReply>(commands.size(), io_error(context_->errstr));
  return receive(commands.size());
}

RedisReply NodeLink::scan_keys(const std::string& match, int count,
                               const std::function<bool(std::vector<std::string>&)>& visit) {
  std::string cursor = "0";
  do {
    RedisReply page =
        std::move(pipeline({{"SCAN", cursor, "MATCH", match, "COUNT", std::to_string(std::max(count, 1))}}).front());
    if (page.is_error()) return page;
    if (page.elements.size() != 2) return io_error("SCAN: " + page.describe());
    cursor = page.elements[0].text;
    std::vector<std::string> keys;
    keys.reserve(page.elements[1].elements.size());
    for (auto& key : page.elements[1].elements) keys.push_back(std::move(key.text));
    if (!keys.empty() && !visit(keys)) break;
  } while (cursor != "0");
  return {};
}

bool NodeLink::connect() {
  if (context_) {
    redisFree(context_);
    context_ = nullptr;
  }
  const timeval timeout{5, 0};
  context_ = address_.unix_path.empty() ? redisConnectWithTimeout(address_.host.c_str(), address_.port, timeout)
                                        : redisConnectUnixWithTimeout(address_.unix_path.c_str(), timeout);
  if (!context_ || context_->err) return false;
  // Every read and write has a deadline: a Redis that stops answering (paused, overloaded, a dead peer behind a
  // live socket) becomes an error the caller retries with backoff, never a daemon hung in recv().
  const timeval command_timeout{static_cast<time_t>(timeout_.count() / 1000),
                                static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  if (redisSetTimeout(context_, command_timeout) != REDIS_OK) return false;
  context_->reader->fn = &reply_functions;
  if (address_.db != 0) {
    const Command select{"SELECT", std::to_string(address_.db)};
    if (!send({&select})) return false;
    return !receive(1).front().is_error();
  }
  return true;
}

}  // namespace nurture::engine::redis
