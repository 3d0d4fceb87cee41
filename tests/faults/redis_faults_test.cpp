// Redis misbehaving under the engine: paused, out of memory. The engine never hangs and never exits for it; once
// Redis recovers, every lead finishes with nothing lost and nothing sent twice.
#include <doctest/doctest.h>

#include <thread>

#include <fmt/format.h>

#include "tests/faults/campaign_setup.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;

TEST_CASE("a Redis that stops answering is an error after the command timeout, not a hang, then it recovers") {
  testing::TempDir dir;
  testing::RedisServer redis(dir / "redis");
  auto connection = redis::RedisConnection::open(redis.url(), milliseconds(500));
  REQUIRE(connection);
  // Every client's commands wait for 2 s, as behind a stalled Redis (DEBUG SLEEP is disabled in Redis 7).
  REQUIRE(redis.connect()->command({"CLIENT", "PAUSE", "2000", "ALL"}).text == "OK");
  const auto started = steady_clock::now();
  const auto reply = (*connection)->command({"PING"});
  CHECK(reply.type == redis::RedisReply::Type::io_error);
  CHECK(steady_clock::now() - started < milliseconds(1500));
  std::this_thread::sleep_for(milliseconds(2000));  // the pause is the fault under test: real time
  CHECK((*connection)->command({"PING"}).text == "PONG");  // a new connection, made on the next call
}

TEST_CASE("Redis out of memory mid-run: the engine backs off instead of dying, then finishes every lead once") {
  testing::FaultCampaign s("{ type: file, dir: ./outbox }");
  redis::RedisStore& store = *s.store;
  Engine engine(store, s.campaign, *s.library, *s.connectors, s.clock);
  for (int i = 0; i < 20; ++i) {
    store.add_event({{"type", "lead.created"}, {"lead", "L" + std::to_string(i)},
                     {"attrs", fmt::format(R"({{"email":"l{}@example.com"}})", i)}});
  }
  // Below what Redis already uses: every write is refused with OOM, as at maxmemory mid-run.
  auto admin = s.redis.connect();
  admin->command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  admin->command({"CONFIG", "SET", "maxmemory", "1"});
  int unavailable = 0;
  for (int pass = 0; pass < 5; ++pass) {
    try {
      engine.run_once();
    } catch (const StoreUnavailable& e) {
      ++unavailable;  // what the daemon's loop catches: it backs off and tries again
      CHECK(std::string(e.what()).find("OOM") != std::string::npos);
    }
  }
  CHECK(unavailable == 5);
  admin->command({"CONFIG", "SET", "maxmemory", "0"});
  engine.drain();
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(s.dir / "campaign/outbox")) {
    files += entry.path().extension() == ".eml" ? 1 : 0;
  }
  CHECK(files == 20);  // all of them, and the file connector refuses a second delivery of one action
  CHECK(s.stat("step:hello:sent") == 20);
  CHECK(admin->command({"XLEN", "nurture:events:dead"}).integer == 0);  // refused writes are no poison
}

TEST_CASE("entries Redis handed out with an answer that never came are read again next, not left for the lease") {
  testing::TempDir dir;
  testing::RedisServer redis(dir / "redis");
  auto connection = redis::RedisConnection::open(redis.url(), milliseconds(150));
  REQUIRE(connection);
  redis::RedisStore store(std::move(*connection), redis::RedisStoreOptions{"nurture:", 2, "c1", hours(24), hours(24)});
  store.prepare();
  REQUIRE(store.read_events(10, milliseconds(0)).empty());  // past the start-up replay: new entries from now on
  // The engine waits up to 1 s for events, its connection gives up after 150 ms; an event arrives at 400 ms. Redis
  // still holds the waiting read (the socket is open until the next call) and hands the entry to it: pending for
  // this consumer, the answer lost.
  std::thread producer([&] {
    std::this_thread::sleep_for(milliseconds(400));  // the timing is the fault under test: real time
    redis.connect()->command({"XADD", "nurture:events", "*", "type", "x", "lead", "L1"});
  });
  CHECK_THROWS_AS(store.read_events(10, milliseconds(1000)), StoreUnavailable);
  producer.join();
  std::this_thread::sleep_for(milliseconds(700));  // until the read it answered would have ended
  REQUIRE(redis.connect()->command({"XPENDING", "nurture:events", "engine"}).elements.at(0).integer == 1);
  const auto again = store.read_events(10, milliseconds(0));
  REQUIRE(again.size() == 1);
  CHECK(again[0].fields.at("lead") == "L1");
}
