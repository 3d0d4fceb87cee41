#include <doctest/doctest.h>

#include "engine/core/interpreter.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;
using nurture::testing::TempDir;

namespace {

const TimePoint t0 = sys_days{year{2026} / March / 2} + hours(8);

struct SegmentCampaign {
  TempDir dir;
  workflows::Campaign campaign;
  SegmentCampaign() {
    nurture::testing::write_campaign(dir.path(), {nurture::testing::minimal_config,
                                                  {{"pro_welcome", R"(workflow: pro_welcome
trigger: { event: segment.entered, when: { segment: pros } }
steps:
  - id: hello
    email: { template: welcome }
)"}},
                                                  {{"welcome", nurture::testing::email_template("Hi", "<p>hi</p>")}}});
    nurture::testing::write_file(dir / "segments.yaml", R"(pros: { attr.plan: pro }
clicked_7d: { event: email.clicked, within: 7d }
)");
    campaign = nurture::testing::load_campaign_or_fail(dir.path());
  }
};

Event event(const std::string& type, TimePoint at, nlohmann::json attrs = nlohmann::json::object()) {
  Event e;
  e.type = type;
  e.lead = "L1";
  e.at = at;
  e.attrs = std::move(attrs);
  return e;
}

void apply(LeadSnapshot& lead, const Transition& t) {
  const std::uint64_t version = lead.version;
  lead = t.lead;
  lead.version = version + 1;
}

bool has_line(const Transition& t, const std::string& kind, const std::string& workflow) {
  for (const auto& line : t.timeline) {
    if (line.kind == kind && line.workflow == workflow) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("a lead enters a segment when its condition comes to hold, and segment.entered starts a workflow") {
  SegmentCampaign s;
  Interpreter interpreter(s.campaign);
  LeadSnapshot lead;
  lead.id = "L1";
  const Transition created =
      interpreter.apply_event(lead, event("lead.created", t0, {{"email", "l1@example.com"}, {"plan", "free"}}), t0);
  CHECK(created.lead.segments.empty());
  CHECK_FALSE(has_line(created, "entered", "pro_welcome"));
  apply(lead, created);

  const Transition upgraded = interpreter.apply_event(lead, event("lead.updated", t0 + hours(1), {{"plan", "pro"}}),
                                                      t0 + hours(1));
  CHECK(upgraded.lead.segments == std::set<std::string>{"pros"});
  CHECK(has_line(upgraded, "entered", "pro_welcome"));
  REQUIRE(upgraded.actions.size() == 1);
  CHECK(upgraded.actions[0].step == "hello");
  CHECK(upgraded.timers_to_add.empty());  // nothing about `pros` changes with time alone
  apply(lead, upgraded);

  const Transition downgraded = interpreter.apply_event(lead, event("lead.updated", t0 + hours(2), {{"plan", "free"}}),
                                                        t0 + hours(2));
  CHECK(downgraded.lead.segments.empty());
}

TEST_CASE("a `within` window that expires takes the lead out of the segment at that moment, by a timer") {
  SegmentCampaign s;
  Interpreter interpreter(s.campaign);
  LeadSnapshot lead;
  lead.id = "L1";
  apply(lead, interpreter.apply_event(lead, event("lead.created", t0, {{"email", "l1@example.com"}}), t0));
  const TimePoint clicked_at = t0 + hours(1);
  const Transition clicked = interpreter.apply_event(lead, event("email.clicked", clicked_at), clicked_at);
  CHECK(clicked.lead.segments == std::set<std::string>{"clicked_7d"});
  REQUIRE(clicked.timers_to_add.size() == 1);
  const auto& [timer, due] = clicked.timers_to_add[0];
  CHECK(timer.workflow == segments_timer_workflow);
  CHECK(due == clicked_at + days(7) + milliseconds(1));  // in the window up to and including 7 days after
  apply(lead, clicked);

  // A second click a day later: the timer stays at the first click's expiry, where the lead is looked at again.
  const Transition again = interpreter.apply_event(lead, event("email.clicked", clicked_at + days(1)), clicked_at + days(1));
  CHECK(again.timers_to_add.empty());
  CHECK(again.lead.segments == std::set<std::string>{"clicked_7d"});
  apply(lead, again);

  TimerRef fired = timer;
  fired.due = due;
  const Transition still_in = interpreter.fire_timer(lead, fired, due);
  CHECK(still_in.lead.segments == std::set<std::string>{"clicked_7d"});  // the second click is within 7 days
  REQUIRE(still_in.timers_to_add.size() == 1);
  CHECK(still_in.timers_to_add[0].second == clicked_at + days(8) + milliseconds(1));
  CHECK(still_in.timers_to_remove.empty());  // the same timer, moved
  apply(lead, still_in);

  fired.due = clicked_at + days(8) + milliseconds(1);
  const Transition expired = interpreter.fire_timer(lead, fired, fired.due);
  CHECK(expired.lead.segments.empty());
  CHECK(expired.timers_to_add.empty());
  REQUIRE(expired.timers_to_remove.size() == 1);
  CHECK(expired.timers_to_remove[0].member() == fired.member());
  CHECK(expired.lead.segments_check_ms == 0);
}
