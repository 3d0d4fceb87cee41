// A Redis Cluster client on NodeLinks, one per master: the slot map from CLUSTER SLOTS, each command to the master
// of its key's slot, per-master pipelines written to all masters before any reply is read, MOVED and ASK followed at
// once (a few hops), the map read again after a redirect, an I/O error or CLUSTERDOWN. What cannot be done now
// (TRYAGAIN while a slot moves, CLUSTERDOWN during a failover, a master that does not answer) comes back as the
// error reply or io_error, and the store retries the work with backoff as for a single Redis that is away.

#include "engine/store/redis/cluster_routing.hpp"
#include "engine/store/redis/connection_impl.hpp"
#include "engine/store/redis/node_link.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>

namespace nurture::engine::redis {

namespace {

using cluster::NodeAddress;
using cluster::Redirect;
using cluster::SlotMap;

bool is_command(const Command& command, std::string_view name) {
  return !command.empty() && cluster::same_word(command[0], name);
}

// A command, or a MULTI ... EXEC block, routed as one.
struct Unit {
  std::size_t first = 0;
  std::size_t count = 1;
  int slot = -1;                    // -1: no key (any master)
  std::optional<NodeAddress> ask;  // an ASK redirect: this node once, after ASKING
};

std::vector<Unit> units_of(const std::vector<Command>& commands) {
  std::vector<Unit> units;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    Unit unit{i, 1, -1, std::nullopt};
    if (is_command(commands[i], "MULTI")) {
      std::size_t end = i + 1;
      while (end < commands.size() && !is_command(commands[end], "EXEC")) ++end;
      unit.count = std::min(end, commands.size() - 1) - i + 1;
    }
    for (std::size_t c = unit.first; c < unit.first + unit.count && unit.slot < 0; ++c) {
      if (auto key = cluster::routing_key(commands[c])) unit.slot = cluster::key_slot(*key);
    }
    units.push_back(unit);
    i = unit.first + unit.count - 1;
  }
  return units;
}

// XREADGROUP over streams of several slots, which a cluster refuses (CROSSSLOT): where STREAMS is, or none.
std::optional<std::size_t> cross_slot_stream_read(const Command& command) {
  if (!is_command(command, "XREADGROUP")) return std::nullopt;
  const auto at = std::find_if(command.begin(), command.end(),
                               [](const std::string& word) { return cluster::same_word(word, "STREAMS"); });
  if (at == command.end()) return std::nullopt;
  const std::size_t streams_at = static_cast<std::size_t>(at - command.begin());
  const std::size_t streams = (command.size() - streams_at - 1) / 2;
  if (streams < 2) return std::nullopt;
  const int slot = cluster::key_slot(command[streams_at + 1]);
  for (std::size_t s = 1; s < streams; ++s) {
    if (cluster::key_slot(command[streams_at + 1 + s]) != slot) return streams_at;
  }
  return std::nullopt;
}

class Cluster final : public RedisConnection::Impl {
 public:
  Cluster(std::vector<text::RedisNode> seeds, std::chrono::milliseconds timeout)
      : seeds_(std::move(seeds)), timeout_(timeout) {}

  std::optional<std::string> discover() {
    if (refresh()) return std::nullopt;
    return last_refresh_error_;
  }

  bool clustered() const override { return true; }

  std::vector<RedisReply> pipeline(const std::vector<Command>& commands) override {
    if (commands.size() == 1) {
      if (auto streams_at = cross_slot_stream_read(commands[0])) return {read_streams(commands[0], *streams_at)};
    }
    std::vector<RedisReply> replies(commands.size());
    std::vector<Unit> pending = units_of(commands);
    for (int round = 0; !pending.empty(); ++round) {
      if (refresh_due_) refresh();
      if (!map_) {
        for (const Unit& unit : pending) fill(replies, unit, io_error("no Redis Cluster node answers"));
        break;
      }
      pending = run_round(commands, pending, replies, round == max_redirects);
    }
    return replies;
  }

  RedisReply load_script(const std::string& source) override {
    if (refresh_due_) refresh();
    if (!map_) return io_error("no Redis Cluster node answers");
    RedisReply loaded;
    for (const NodeAddress& node : map_->masters()) {
      RedisReply reply = std::move(link(node).pipeline({{"SCRIPT", "LOAD", source}}).front());
      if (reply.is_error()) refresh_due_ = true;
      if (reply.is_error() || loaded.is_nil()) loaded = std::move(reply);
      if (loaded.is_error()) break;
    }
    return loaded;
  }

  RedisReply scan_keys(const std::string& match, int count,
                       const std::function<bool(std::vector<std::string>&)>& visit) override {
    if (refresh_due_) refresh();
    if (!map_) return io_error("no Redis Cluster node answers");
    bool stopped = false;
    const auto visit_until_stopped = [&](std::vector<std::string>& keys) { return !(stopped = !visit(keys)); };
    for (const NodeAddress& node : std::vector<NodeAddress>(map_->masters())) {
      RedisReply failed = link(node).scan_keys(match, count, visit_until_stopped);
      if (failed.is_error()) {
        refresh_due_ = true;
        return failed;
      }
      if (stopped) break;
    }
    return {};
  }

  std::vector<RedisReply> on_every_master(const Command& command) override {
    if (refresh_due_) refresh();
    if (!map_) return {io_error("no Redis Cluster node answers")};
    std::vector<RedisReply> replies;
    for (const NodeAddress& node : std::vector<NodeAddress>(map_->masters())) {
      replies.push_back(link(node).pipeline({command}).front());
      if (replies.back().type == RedisReply::Type::io_error) refresh_due_ = true;
    }
    return replies;
  }

  RedisReply wait_replicas(const std::vector<std::string>& keys, int replicas,
                           std::chrono::milliseconds timeout) override {
    if (!map_) return io_error("no Redis Cluster node answers");
    std::vector<NodeAddress> nodes;
    for (const auto& key : keys) {
      const NodeAddress& node = map_->master(cluster::key_slot(key));
      if (std::find(nodes.begin(), nodes.end(), node) == nodes.end()) nodes.push_back(node);
    }
    RedisReply fewest{RedisReply::Type::integer, replicas, {}, {}};
    for (const auto& node : nodes) {
      RedisReply reply =
          std::move(link(node).pipeline({{"WAIT", std::to_string(replicas), std::to_string(timeout.count())}}).front());
      if (reply.is_error()) return reply;
      fewest.integer = std::min(fewest.integer, reply.integer);
    }
    return fewest;
  }

 private:
  static constexpr int max_redirects = 5;

  NodeLink& link(const NodeAddress& node) {
    auto& slot = links_[node.name()];
    if (!slot) {
      text::RedisAddress address;
      address.host = node.host;
      address.port = node.port;
      slot = std::make_unique<NodeLink>(std::move(address), timeout_);
    }
    return *slot;
  }

  // CLUSTER SLOTS from a master of the map we have, else from a seed; the first complete map wins.
  bool refresh() {
    std::vector<NodeAddress> candidates;
    if (map_) candidates = map_->masters();
    for (const auto& seed : seeds_) candidates.push_back({seed.host, seed.port});
    last_refresh_error_ = "no seed node answers";
    for (const auto& node : candidates) {
      RedisReply reply = std::move(link(node).pipeline({{"CLUSTER", "SLOTS"}}).front());
      if (reply.is_error()) {
        last_refresh_error_ = fmt::format("{}: {}", node.name(), reply.describe());
        continue;
      }
      if (auto map = SlotMap::from_cluster_slots(reply)) {
        map_ = std::move(map);
        refresh_due_ = false;
        return true;
      }
      last_refresh_error_ = fmt::format("{}: the cluster does not serve every slot (CLUSTER SLOTS)", node.name());
    }
    refresh_due_ = true;
    return false;
  }

  static void fill(std::vector<RedisReply>& replies, const Unit& unit, const RedisReply& reply) {
    for (std::size_t c = unit.first; c < unit.first + unit.count; ++c) replies[c] = reply;
  }

  const NodeAddress& target(const Unit& unit) const {
    if (unit.ask) return *unit.ask;
    return unit.slot >= 0 ? map_->master(unit.slot) : map_->masters().front();
  }

  // Sends each pending unit to its master (all masters written before any is read) and returns the units to send
  // again: those redirected, and those whose master could not be reached (after the map is read again).
  std::vector<Unit> run_round(const std::vector<Command>& commands, const std::vector<Unit>& pending,
                              std::vector<RedisReply>& replies, bool last_round) {
    static const Command asking{"ASKING"};
    std::map<std::string, std::vector<const Unit*>> by_node;
    std::map<std::string, NodeAddress> addresses;
    for (const Unit& unit : pending) {
      const NodeAddress& node = target(unit);
      by_node[node.name()].push_back(&unit);
      addresses.emplace(node.name(), node);
    }
    std::vector<Unit> again;
    std::vector<std::string> sent;
    for (auto& [name, units] : by_node) {
      NodeLink& node = link(addresses.at(name));
      std::vector<const Command*> flat;
      for (const Unit* unit : units) {
        if (unit->ask) flat.push_back(&asking);
        for (std::size_t c = unit->first; c < unit->first + unit->count; ++c) flat.push_back(&commands[c]);
      }
      if (node.ensure_connected() && node.send(flat)) {
        sent.push_back(name);
        continue;
      }
      // Nothing of these was read by the server when the connection could not be made; a write that broke may
      // have been, so those units fail to the caller rather than run twice.
      refresh_due_ = true;
      const bool never_connected = !node.ensure_connected();
      for (const Unit* unit : units) {
        if (never_connected && !last_round) again.push_back(Unit{unit->first, unit->count, unit->slot, std::nullopt});
        else fill(replies, *unit, io_error(fmt::format("{}: {}", name, node.error())));
      }
    }
    for (const auto& name : sent) {
      NodeLink& node = link(addresses.at(name));
      for (const Unit* unit : by_node[name]) {
        auto got = node.receive(unit->count + (unit->ask ? 1 : 0));
        if (unit->ask) got.erase(got.begin());
        take(*unit, std::move(got), replies, again, last_round);
      }
    }
    return again;
  }

  // A unit's replies: kept, or the unit is sent again where a redirect says.
  void take(const Unit& unit, std::vector<RedisReply> got, std::vector<RedisReply>& replies, std::vector<Unit>& again,
            bool last_round) {
    std::optional<Redirect> redirect;
    for (const auto& reply : got) {
      if (reply.type == RedisReply::Type::error && !redirect) redirect = cluster::parse_redirect(reply.text);
      if (reply.type == RedisReply::Type::io_error || reply.text.starts_with("CLUSTERDOWN")) refresh_due_ = true;
    }
    if (redirect && !last_round) {
      if (redirect->kind == Redirect::Kind::moved) {
        map_->assign(redirect->slot, redirect->node);
        refresh_due_ = true;  // one slot moved: likely more did (a failover, a reshard)
        again.push_back(Unit{unit.first, unit.count, unit.slot, std::nullopt});
        return;
      }
      if (unit.count == 1) {
        again.push_back(Unit{unit.first, unit.count, unit.slot, redirect->node});
        return;
      }
      // ASK inside a transaction would need ASKING before every queued command: the slot is moving, so the
      // block is tried again later, as Redis says of multi-key commands then.
      got.back() = {RedisReply::Type::error, 0, "TRYAGAIN the slot is migrating (a transaction was redirected)", {}};
    }
    for (std::size_t c = 0; c < unit.count; ++c) replies[unit.first + c] = std::move(got[c]);
  }

  // XREADGROUP over streams of several slots: each stream on its own (without BLOCK), merged; when none had
  // entries and the command blocks, it blocks on its first stream alone (the others are read again on the next
  // call, so their entries wait at most the block time).
  RedisReply read_streams(const Command& command, std::size_t streams_at) {
    const std::size_t count = (command.size() - streams_at - 1) / 2;
    Command base;
    std::optional<std::string> block;
    for (std::size_t i = 0; i < streams_at; ++i) {
      if (cluster::same_word(command[i], "BLOCK") && i + 1 < streams_at) {
        block = command[++i];
        continue;
      }
      base.push_back(command[i]);
    }
    std::vector<Command> reads;
    for (std::size_t s = 0; s < count; ++s) {
      Command read = base;
      read.insert(read.end(), {"STREAMS", command[streams_at + 1 + s], command[streams_at + 1 + count + s]});
      reads.push_back(std::move(read));
    }
    RedisReply merged{RedisReply::Type::array, 0, {}, {}};
    for (auto& reply : pipeline(reads)) {
      if (reply.is_error()) return reply;
      for (auto& stream : reply.elements) merged.elements.push_back(std::move(stream));
    }
    if (!merged.elements.empty()) return merged;
    if (!block) return {};
    Command blocking = base;
    blocking.insert(blocking.end(), {"BLOCK", *block, "STREAMS", command[streams_at + 1], command[streams_at + 1 + count]});
    return std::move(pipeline({blocking}).front());
  }

  std::vector<text::RedisNode> seeds_;
  std::chrono::milliseconds timeout_;
  std::optional<SlotMap> map_;
  std::map<std::string, std::unique_ptr<NodeLink>> links_;
  bool refresh_due_ = false;
  std::string last_refresh_error_;
};

}  // namespace

Expected<std::unique_ptr<RedisConnection::Impl>> open_cluster(const std::vector<text::RedisNode>& seeds,
                                                             std::chrono::milliseconds timeout) {
  auto cluster = std::make_unique<Cluster>(seeds, timeout);
  if (auto why = cluster->discover()) return fail(*why);
  return std::unique_ptr<RedisConnection::Impl>(std::move(cluster));
}

}  // namespace nurture::engine::redis
