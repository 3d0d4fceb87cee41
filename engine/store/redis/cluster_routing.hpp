#pragma once
// Redis Cluster routing, the parts that are pure: which slot a key hashes to (CRC16 of its `{tag}`), which key of a
// command decides its slot, the slot map a `CLUSTER SLOTS` reply describes, and what a MOVED or ASK reply says.
// Written here because Debian's hiredis (0.14) has no cluster support and no cluster client is packaged; the
// connection (redis_connection.cpp) uses these to route and redirect.

#include "engine/store/redis/redis_connection.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nurture::engine::redis::cluster {

inline constexpr int slot_count = 16384;

std::uint16_t crc16(std::string_view bytes);  // CRC-16/XMODEM, as Redis Cluster specifies
// The slot of a key: of the part between the first `{` and the next `}` when that part is not empty, else of all.
int key_slot(std::string_view key);

// The key that routes a command, or none for a command without keys (PING, SCRIPT, WAIT, ...). A command with
// several keys must have them in one slot; the first decides.
std::optional<std::string_view> routing_key(const Command& command);

// Whether a command word is `upper_name` (written in capitals), in any case: Redis reads command words so.
bool same_word(std::string_view word, std::string_view upper_name);

struct NodeAddress {
  std::string host;
  int port = 0;
  std::string name() const;  // host:port
  bool operator==(const NodeAddress&) const = default;
};

// Each slot's master, from `CLUSTER SLOTS`. Replicas are not used: every command goes to a master.
class SlotMap {
 public:
  // Fails (nullopt) when the reply is not a slot table or leaves slots without a master.
  static std::optional<SlotMap> from_cluster_slots(const RedisReply& reply);
  const NodeAddress& master(int slot) const { return nodes_[static_cast<std::size_t>(owner_[static_cast<std::size_t>(slot)])]; }
  const std::vector<NodeAddress>& masters() const { return nodes_; }
  // A MOVED reply says the slot is now the node's: the map takes it at once, before a full refresh.
  void assign(int slot, const NodeAddress& node);

 private:
  std::vector<NodeAddress> nodes_;
  std::vector<int> owner_ = std::vector<int>(slot_count, -1);
};

struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  int slot = 0;
  NodeAddress node;
};
// `MOVED 3999 127.0.0.1:6381` or `ASK 3999 127.0.0.1:6381` (the error text, without a leading "-").
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace nurture::engine::redis::cluster
