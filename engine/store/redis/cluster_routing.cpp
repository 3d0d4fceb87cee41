#include "engine/store/redis/cluster_routing.hpp"

#include <algorithm>
#include <charconv>

namespace nurture::engine::redis::cluster {

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (unsigned char byte : bytes) {
    crc = static_cast<std::uint16_t>(crc ^ (byte << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

int key_slot(std::string_view key) {
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) % slot_count;
}

bool same_word(std::string_view word, std::string_view upper_name) {
  return word.size() == upper_name.size() &&
         std::equal(word.begin(), word.end(), upper_name.begin(),
                    [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; });
}

namespace {

std::optional<std::string_view> arg(const Command& command, std::size_t i) {
  if (i >= command.size()) return std::nullopt;
  return std::string_view(command[i]);
}

}  // namespace

std::optional<std::string_view> routing_key(const Command& command) {
  if (command.empty()) return std::nullopt;
  const std::string& name = command[0];
  for (std::string_view keyless : {"PING", "SCRIPT", "WAIT", "CLUSTER", "INFO", "MULTI", "EXEC", "DISCARD", "SELECT",
                                   "ASKING", "DBSIZE", "FLUSHALL", "FLUSHDB", "SCAN", "SHUTDOWN", "CONFIG", "TIME",
                                   "READONLY", "ROLE"}) {
    if (same_word(name, keyless)) return std::nullopt;
  }
  if (same_word(name, "EVAL") || same_word(name, "EVALSHA")) {
    if (command.size() < 4 || command[2] == "0") return std::nullopt;
    return arg(command, 3);
  }
  if (same_word(name, "XREADGROUP") || same_word(name, "XREAD")) {
    for (std::size_t i = 1; i < command.size(); ++i) {
      if (same_word(command[i], "STREAMS")) return arg(command, i + 1);
    }
    return std::nullopt;
  }
  if (same_word(name, "XGROUP") || same_word(name, "XINFO") || same_word(name, "OBJECT") || same_word(name, "MEMORY")) return arg(command, 2);
  return arg(command, 1);
}

std::string NodeAddress::name() const { return host + ":" + std::to_string(port); }

std::optional<SlotMap> SlotMap::from_cluster_slots(const RedisReply& reply) {
  if (reply.type != RedisReply::Type::array) return std::nullopt;
  SlotMap map;
  for (const auto& range : reply.elements) {
    // [first, last, [host, port, id...], replicas...]
    if (range.elements.size() < 3) return std::nullopt;
    const auto& first = range.elements[0];
    const auto& last = range.elements[1];
    const auto& master = range.elements[2];
    if (first.type != RedisReply::Type::integer || last.type != RedisReply::Type::integer) return std::nullopt;
    if (first.integer < 0 || last.integer >= slot_count || first.integer > last.integer) return std::nullopt;
    if (master.elements.size() < 2 || master.elements[1].type != RedisReply::Type::integer) return std::nullopt;
    NodeAddress node{master.elements[0].text, static_cast<int>(master.elements[1].integer)};
    if (node.host.empty() || node.port <= 0 || node.port > 65535) return std::nullopt;
    for (auto slot = first.integer; slot <= last.integer; ++slot) map.assign(static_cast<int>(slot), node);
  }
  if (std::find(map.owner_.begin(), map.owner_.end(), -1) != map.owner_.end()) return std::nullopt;
  return map;
}

void SlotMap::assign(int slot, const NodeAddress& node) {
  auto known = std::find(nodes_.begin(), nodes_.end(), node);
  if (known == nodes_.end()) {
    nodes_.push_back(node);
    known = nodes_.end() - 1;
  }
  owner_[static_cast<std::size_t>(slot)] = static_cast<int>(known - nodes_.begin());
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect redirect;
  if (error.starts_with("MOVED ")) redirect.kind = Redirect::Kind::moved;
  else if (error.starts_with("ASK ")) redirect.kind = Redirect::Kind::ask;
  else return std::nullopt;
  error.remove_prefix(error.find(' ') + 1);
  const auto space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto slot_text = error.substr(0, space);
  auto [end, ec] = std::from_chars(slot_text.data(), slot_text.data() + slot_text.size(), redirect.slot);
  if (ec != std::errc() || end != slot_text.data() + slot_text.size()) return std::nullopt;
  if (redirect.slot < 0 || redirect.slot >= slot_count) return std::nullopt;
  const auto address = error.substr(space + 1);
  const auto colon = address.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  redirect.node.host = std::string(address.substr(0, colon));
  const auto port_text = address.substr(colon + 1);
  auto [port_end, port_ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), redirect.node.port);
  if (port_ec != std::errc() || port_end != port_text.data() + port_text.size()) return std::nullopt;
  if (redirect.node.port <= 0 || redirect.node.port > 65535) return std::nullopt;
  return redirect;
}

}  // namespace nurture::engine::redis::cluster
