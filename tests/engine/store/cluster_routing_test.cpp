// Redis Cluster routing without a cluster: slots of keys (the values Redis itself gives), the key of each command
// the store sends, a recorded CLUSTER SLOTS reply, and MOVED/ASK replies.

#include <doctest/doctest.h>

#include "engine/store/redis/cluster_routing.hpp"
#include "engine/store/redis/keys.hpp"

using namespace nurture::engine::redis;
using namespace nurture::engine::redis::cluster;

TEST_CASE("key slots are CRC16 of the hash tag modulo 16384, as CLUSTER KEYSLOT says") {
  CHECK(crc16("123456789") == 0x31C3);  // the check value of CRC-16/XMODEM
  // Values from `redis-cli CLUSTER KEYSLOT` on Redis 7.
  CHECK(key_slot("foo") == 12182);
  CHECK(key_slot("bar") == 5061);
  CHECK(key_slot("{user1000}.following") == key_slot("{user1000}.followers"));
  CHECK(key_slot("{user1000}.following") == key_slot("user1000"));
  CHECK(key_slot("foo{}{bar}") == key_slot("foo{}{bar}"));
  CHECK(key_slot("foo{}{bar}") != key_slot("bar"));  // an empty first tag: the whole key is hashed
  CHECK(key_slot("foo{{bar}}zap") == key_slot("{bar"));
  CHECK(key_slot("foo{bar}{zap}") == key_slot("bar"));
  // Every key of a partition is in its tag's slot: one script commits a transition on one node.
  Keys keys("nurture:");
  const int slot = key_slot(keys.lead(7, "L1"));
  for (const std::string& key : {keys.timers(7), keys.outbox(7), keys.inbox(7), keys.retries(7), keys.done(7, 20000),
                                 keys.seen(7, "e1"), keys.stats(7, "welcome"), keys.paused(7), keys.posts(7)}) {
    CHECK(key_slot(key) == slot);
  }
  CHECK(key_slot(keys.lead(8, "L1")) != slot);
}

TEST_CASE("the routing key of each command the store sends") {
  CHECK(routing_key({"HGETALL", "k"}) == "k");
  CHECK(routing_key({"EVALSHA", "abc", "2", "{1}:a", "{1}:b", "x"}) == "{1}:a");
  CHECK_FALSE(routing_key({"EVALSHA", "abc", "0", "x"}));
  CHECK(routing_key({"XREADGROUP", "GROUP", "g", "c", "COUNT", "5", "BLOCK", "20", "STREAMS", "s1", "s2", ">", ">"}) ==
        "s1");
  CHECK(routing_key({"XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"}) == "s");
  CHECK(routing_key({"XINFO", "GROUPS", "s"}) == "s");
  CHECK(routing_key({"xack", "s", "g", "1-1"}) == "s");
  for (const Command& keyless : std::vector<Command>{{"PING"}, {"SCRIPT", "LOAD", "return 1"}, {"WAIT", "1", "100"},
                                                     {"MULTI"}, {"EXEC"}, {"CLUSTER", "SLOTS"}, {"SCAN", "0"}}) {
    CAPTURE(keyless[0]);
    CHECK_FALSE(routing_key(keyless));
  }
}

namespace {

RedisReply integer(long long n) { return {RedisReply::Type::integer, n, {}, {}}; }
RedisReply text(std::string s) { return {RedisReply::Type::string, 0, std::move(s), {}}; }
RedisReply array(std::vector<RedisReply> elements) { return {RedisReply::Type::array, 0, {}, std::move(elements)}; }
RedisReply node(const char* host, int port, const char* id) { return array({text(host), integer(port), text(id)}); }

}  // namespace

TEST_CASE("a CLUSTER SLOTS reply gives each slot's master, and one that leaves slots unserved is refused") {
  // As Redis 7 answers for three masters with a replica each.
  const RedisReply reply = array({
      array({integer(0), integer(5460), node("127.0.0.1", 7000, "a"), node("127.0.0.1", 7004, "d")}),
      array({integer(5461), integer(10922), node("127.0.0.1", 7001, "b"), node("127.0.0.1", 7005, "e")}),
      array({integer(10923), integer(16383), node("127.0.0.1", 7002, "c"), node("127.0.0.1", 7003, "f")}),
  });
  auto map = SlotMap::from_cluster_slots(reply);
  REQUIRE(map);
  CHECK(map->master(0) == NodeAddress{"127.0.0.1", 7000});
  CHECK(map->master(5461) == NodeAddress{"127.0.0.1", 7001});
  CHECK(map->master(key_slot("foo")) == NodeAddress{"127.0.0.1", 7002});
  CHECK(map->masters().size() == 3);
  map->assign(12182, NodeAddress{"127.0.0.1", 7000});  // a MOVED for foo's slot
  CHECK(map->master(key_slot("foo")) == NodeAddress{"127.0.0.1", 7000});
  CHECK(map->master(12183) == NodeAddress{"127.0.0.1", 7002});

  const RedisReply partial = array({array({integer(0), integer(5460), node("127.0.0.1", 7000, "a")})});
  CHECK_FALSE(SlotMap::from_cluster_slots(partial));
  CHECK_FALSE(SlotMap::from_cluster_slots(array({array({integer(0), integer(16384), node("h", 1, "a")})})));
  CHECK_FALSE(SlotMap::from_cluster_slots(array({array({integer(0), integer(16383), node("h", 0, "a")})})));
  CHECK_FALSE(SlotMap::from_cluster_slots(RedisReply{RedisReply::Type::error, 0, "ERR This instance has cluster support disabled", {}}));
}

TEST_CASE("MOVED and ASK replies name the slot and the node, and anything else is not a redirect") {
  auto moved = parse_redirect("MOVED 3999 127.0.0.1:6381");
  REQUIRE(moved);
  CHECK(moved->kind == Redirect::Kind::moved);
  CHECK(moved->slot == 3999);
  CHECK(moved->node == NodeAddress{"127.0.0.1", 6381});
  auto ask = parse_redirect("ASK 12182 ::1:7002");
  REQUIRE(ask);
  CHECK(ask->kind == Redirect::Kind::ask);
  CHECK(ask->node == NodeAddress{"::1", 7002});
  for (const char* other : {"ERR unknown", "MOVED", "MOVED 16384 h:1", "MOVED x h:1", "MOVED 1 h", "MOVED 1 h:0",
                            "MOVED 1 :7000", "ASK 1 h:99999", "TRYAGAIN Multiple keys request during rehashing"}) {
    CAPTURE(other);
    CHECK_FALSE(parse_redirect(other));
  }
}
