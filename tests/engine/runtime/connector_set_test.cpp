// What the engine owns around a connector: rate (token bucket), circuit breaker, a thread for serial connectors.
#include <doctest/doctest.h>

#include <future>
#include <thread>

#include "engine/runtime/connector_set.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;

namespace {

class Recording final : public sdk::Connector {
 public:
  explicit Recording(int max_in_flight) : max_in_flight_(max_in_flight) {}
  int max_in_flight() const override { return max_in_flight_; }
  void send(const sdk::Action& action, sdk::Completion done) override {
    thread_ = std::this_thread::get_id();
    done(sdk::Result::sent(action.action_id));
  }
  std::thread::id thread_;

 private:
  int max_in_flight_;
};

const system_clock::time_point t0 = sys_days{year{2026} / March / 2};

}  // namespace

TEST_CASE("rates parse as N per second, minute, 5 minutes, hour") {
  CHECK(parse_rate("300/5m")->tokens == 300);
  CHECK(parse_rate("300/5m")->per == minutes(5));
  CHECK(parse_rate("50/s")->per == seconds(1));
  CHECK(parse_rate("1000/h")->per == hours(1));
  CHECK_FALSE(parse_rate("fast"));
  CHECK_FALSE(parse_rate("0/s"));
  CHECK_FALSE(parse_rate("10/d"));
}

TEST_CASE("a token bucket lets `rate` through, then says how long to wait") {
  ConnectorSet set;
  set.add("mastodon", std::make_unique<Recording>(0), "2/s");
  CHECK(set.admit("mastodon", t0).go);
  CHECK(set.admit("mastodon", t0).go);
  const Admission third = set.admit("mastodon", t0);
  CHECK_FALSE(third.go);
  CHECK(third.reason == "rate_limited");
  CHECK(third.wait >= milliseconds(500));
  CHECK(third.wait <= milliseconds(501));
  CHECK(set.admit("mastodon", t0 + milliseconds(500)).go);  // one token back after half a second
  CHECK_FALSE(set.admit("mastodon", t0 + milliseconds(500)).go);
  CHECK(set.admit("unlimited-or-unknown", t0).go);
}

TEST_CASE("five transient failures in a row open the circuit for 30 s, one trial send closes it") {
  ConnectorSet set;
  set.add("crm", std::make_unique<Recording>(0));
  for (int i = 0; i < 4; ++i) set.report("crm", sdk::Result::retry(seconds(1), "503"), t0);
  CHECK(set.admit("crm", t0).go);  // four is not yet a pattern
  set.report("crm", sdk::Result::retry(seconds(1), "503"), t0);
  const Admission open = set.admit("crm", t0 + seconds(10));
  CHECK_FALSE(open.go);
  CHECK(open.reason == "circuit_open");
  CHECK(open.wait == seconds(20));
  CHECK(set.admit("crm", t0 + seconds(30)).go);          // the trial
  CHECK_FALSE(set.admit("crm", t0 + seconds(30)).go);    // only one trial at a time
  set.report("crm", sdk::Result::sent("ok"), t0 + seconds(31));
  CHECK(set.admit("crm", t0 + seconds(31)).go);
  CHECK(set.admit("crm", t0 + seconds(31)).go);

  // A failure of the trial opens it again; a permanent refusal ("400") does not count as the provider being down.
  for (int i = 0; i < 5; ++i) set.report("crm", sdk::Result::retry(seconds(1), "503"), t0 + minutes(1));
  CHECK_FALSE(set.admit("crm", t0 + minutes(1)).go);
  set.report("crm", sdk::Result::failed("400"), t0 + minutes(2));
  CHECK(set.admit("crm", t0 + minutes(2)).go);
}

TEST_CASE("a connector that sends one at a time gets a thread of its own") {
  ConnectorSet set;
  auto serial = std::make_unique<Recording>(1);
  auto* serial_raw = serial.get();
  set.add("serial", std::move(serial));
  auto promise = std::make_shared<std::promise<sdk::Result>>();
  auto answer = promise->get_future();
  sdk::Action action;
  action.action_id = "a1";
  set.find("serial")->send(action, [promise](sdk::Result r) { promise->set_value(std::move(r)); });
  REQUIRE(answer.wait_for(seconds(5)) == std::future_status::ready);
  CHECK(answer.get().provider_id == "a1");
  CHECK(serial_raw->thread_ != std::this_thread::get_id());
}
