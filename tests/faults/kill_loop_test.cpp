// The daemon killed with SIGKILL every 2 s while events arrive at a steady rate, on its own Redis. Prints what a
// fault run is judged by: events in, actions sent, lost (must be 0), sends that may have been duplicated
// (dispatch_reclaimed: the file connector itself refuses a second delivery), dead-lettered.

#include <signal.h>

#include <atomic>
#include <iostream>

#include "tests/support/daemon_campaign.hpp"

using namespace nurture::testing;

TEST_CASE("kill -9 every 2 s for 60 s under a steady event rate: nothing lost, each send once") {
  TempDir redis_dir;
  RedisServer redis(redis_dir / "redis");
  constexpr int per_tick = 10, ticks = 300;  // 50 leads a second for 60 s, two emails each
  DaemonCampaign c(redis.url(), per_tick * ticks);
  auto daemon = c.start();
  std::atomic<int> emitted{0};
  std::thread producer([&] {
    for (int tick = 0; tick < ticks; ++tick) {
      DaemonCampaign::emit_leads(redis.url(), tick * per_tick, per_tick);
      emitted += per_tick;
      std::this_thread::sleep_for(milliseconds(200));
    }
  });
  int kills = 0;
  while (emitted < per_tick * ticks) {
    std::this_thread::sleep_for(seconds(2));
    CHECK(daemon->stop(SIGKILL) == 128 + SIGKILL);
    ++kills;
    daemon = c.start();
  }
  producer.join();
  const std::size_t expected = 2 * per_tick * ticks;
  const std::size_t sent = c.wait_delivered(expected, seconds(120));
  std::this_thread::sleep_for(milliseconds(300));
  auto connection = redis.connect();
  long reclaimed = 0;
  for (int p = 0; p < 4; ++p) {
    reclaimed += std::atol(connection->command({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p),
                                                "dispatch_reclaimed"}).text.c_str());
  }
  const long dead = connection->command({"XLEN", "nurture:events:dead"}).integer;
  std::cout << fmt::format("kill loop: {} kills, events in {}, actions sent {}, lost {}, possibly duplicated {}, "
                           "dead-lettered {}\n",
                           kills, per_tick * ticks, sent, expected - std::min(sent, expected), reclaimed, dead);
  CHECK(sent == expected);
  CHECK(dead == 0);
  c.check_every_action_once();
  CHECK(daemon->stop(SIGTERM) == 0);
}
