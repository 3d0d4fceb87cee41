// The broadcast plan (who gets it when, with which variant) and the interpreter's send to one lead.

#include <doctest/doctest.h>

#include "engine/core/broadcast_plan.hpp"
#include "engine/core/event.hpp"
#include "engine/core/identity.hpp"
#include "engine/core/interpreter.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::engine;
namespace wf = nurture::workflows;

namespace {

TimePoint at(const char* text) { return *parse_rfc3339(text); }

wf::Broadcast local_broadcast(bool lead_zone) {
  wf::Broadcast b;
  b.id = "april";
  b.segment = "subscribers";
  b.at_local = "2026-04-07T09:00";
  b.lead_timezone = lead_zone;
  b.fallback = lead_zone ? "America/New_York" : "";
  b.action = wf::EmailStep{"news_a", "outbox", "", {}};
  return b;
}

std::vector<BroadcastRecipient> recipients(int n) {
  std::vector<BroadcastRecipient> all;
  for (int i = 0; i < n; ++i) all.push_back({"L" + std::to_string(i), ""});
  return all;
}

}  // namespace

TEST_CASE("a broadcast at a local time goes at that time in each lead's zone, the fallback's for a lead without") {
  const wf::Broadcast b = local_broadcast(true);
  const auto sends = plan_broadcast(b, {{"tokyo", "Asia/Tokyo"}, {"nozone", ""}, {"berlin", "Europe/Berlin"}},
                                    BroadcastPart::first, -1, at("2026-04-06T00:00:00Z"), "UTC");
  REQUIRE(sends.size() == 3);
  CHECK(sends[0] == BroadcastSend{at("2026-04-07T00:00:00Z"), "tokyo", -1});
  CHECK(sends[1] == BroadcastSend{at("2026-04-07T07:00:00Z"), "berlin", -1});  // CEST
  CHECK(sends[2] == BroadcastSend{at("2026-04-07T13:00:00Z"), "nozone", -1});  // New York, EDT
  CHECK(broadcast_opens(b, "UTC") == at("2026-04-06T19:00:00Z"));             // 09:00 at UTC+14
  // Without `timezone: lead`: the default zone's time for everyone.
  CHECK(broadcast_opens(local_broadcast(false), "Europe/Berlin") == at("2026-04-07T07:00:00Z"));
}

TEST_CASE("a throttle spreads the sends evenly, and an engine with half the partitions sends half the rate") {
  wf::Broadcast b = local_broadcast(false);
  b.throttle = wf::Rate{4, std::chrono::seconds(1)};
  const auto sends = plan_broadcast(b, recipients(5), BroadcastPart::first, -1, {}, "UTC");
  REQUIRE(sends.size() == 5);
  for (std::size_t k = 0; k < sends.size(); ++k) {
    CHECK(sends[k].due == at("2026-04-07T09:00:00Z") + std::chrono::milliseconds(250 * k));
  }
  const auto half = plan_broadcast(b, recipients(3), BroadcastPart::first, -1, {}, "UTC", 2);
  CHECK(half.back().due == at("2026-04-07T09:00:01Z"));
  // Past sends are due no earlier than `not_before` (a restart mid-broadcast does not send a backlog at once).
  const auto late = plan_broadcast(b, recipients(2), BroadcastPart::first, -1, at("2026-04-07T10:00:00Z"), "UTC");
  CHECK(late[0].due == at("2026-04-07T10:00:00Z"));
  CHECK(late[1].due == at("2026-04-07T10:00:00.250Z"));
}

TEST_CASE("a split's test share gets the variants and the rest gets the winner, each lead in one part") {
  wf::Broadcast b = local_broadcast(false);
  b.split = wf::BroadcastSplit{25, {"news_a", "news_b"}, "clicks", std::chrono::hours(4)};
  const auto everyone = recipients(400);
  const auto test = plan_broadcast(b, everyone, BroadcastPart::first, -1, {}, "UTC");
  const auto rest = plan_broadcast(b, everyone, BroadcastPart::rest, 1, at("2026-04-07T13:00:00Z"), "UTC");
  CHECK(test.size() + rest.size() == 400);
  CHECK(test.size() > 70);
  CHECK(test.size() < 130);
  int variant_b = 0;
  for (const auto& send : test) variant_b += send.variant == 1;
  CHECK(variant_b > static_cast<int>(test.size()) / 4);
  CHECK(variant_b < static_cast<int>(test.size()) * 3 / 4);
  for (const auto& send : rest) {
    CHECK(send.variant == 1);
    CHECK(send.due == at("2026-04-07T13:00:00Z"));
  }
  // The winner: the best clicks per planned send; the first on a tie.
  CHECK(pick_winner(b, {}) == 0);
  CHECK(pick_winner(b, {{"split:april:0:action", 10}, {"split:april:0:clicked", 1},
                        {"split:april:1:action", 10}, {"split:april:1:clicked", 3}}) == 1);
}

TEST_CASE("send_broadcast: once per lead, only in the segment, and skipped when suppressed") {
  nurture::testing::TempDir dir;
  nurture::testing::write_campaign(dir.path(), {nurture::testing::minimal_config,
                                                {{"welcome", nurture::testing::two_email_drip()}},
                                                {{"welcome", nurture::testing::email_template("Hi", "<p>hi</p>")},
                                                 {"tips", nurture::testing::email_template("Tips", "<p>t</p>")},
                                                 {"news_a", nurture::testing::email_template("News", "<p>n</p>")}}});
  nurture::testing::write_file(dir / "segments.yaml", "subscribers: { attr.newsletter: true }\n");
  const wf::Campaign campaign = nurture::testing::load_campaign_or_fail(dir.path());
  wf::Broadcast b = local_broadcast(false);
  b.action = wf::EmailStep{"news_a", campaign.config.default_email_connector, "", {}};
  const Interpreter interpreter(campaign);
  LeadSnapshot lead;
  lead.id = "L1";
  lead.version = 1;
  lead.attrs = {{"email", "l1@example.com"}, {"newsletter", true}};
  lead.segments = {"subscribers"};
  const TimePoint now = at("2026-04-07T09:00:00Z");

  Transition sent = interpreter.send_broadcast(lead, b, -1, now);
  REQUIRE(sent.actions.size() == 1);
  CHECK(sent.actions[0].action_id == broadcast_action_id("april", "L1"));
  CHECK(sent.actions[0].workflow == "~b:april");
  CHECK(sent.actions[0].to == "l1@example.com");
  CHECK(sent.lead.broadcasts.at("april") == -1);
  // Again (a restart re-planned it): nothing.
  CHECK(interpreter.send_broadcast(sent.lead, b, -1, now).actions.empty());

  LeadSnapshot suppressed = lead;
  suppressed.suppressed = {"email"};
  const Transition skipped = interpreter.send_broadcast(suppressed, b, -1, now);
  CHECK(skipped.actions.empty());
  REQUIRE(skipped.timeline.size() == 1);
  CHECK(skipped.timeline[0].detail().reason == "suppressed");

  // It opted out after the send was planned: membership is looked at again at send time.
  LeadSnapshot left = lead;
  left.attrs["newsletter"] = false;
  const Transition outside = interpreter.send_broadcast(left, b, -1, now);
  CHECK(outside.actions.empty());
  REQUIRE_FALSE(outside.timeline.empty());
  CHECK(outside.timeline.back().detail().reason == "not_in_segment");
  CHECK(outside.lead.broadcasts.empty());
}
