#include <doctest/doctest.h>

#include "engine/core/identity.hpp"
#include "engine/core/interpreter.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;
using nurture::testing::TempDir;

namespace {

const char* const config = nurture::testing::minimal_config;

struct Fixture {
  TempDir dir;
  workflows::Campaign campaign;
  explicit Fixture(const std::string& workflow) {
    nurture::testing::write_campaign(
        dir.path(), {config,
                     {{"welcome", workflow}},
                     {{"welcome", nurture::testing::email_template("a", "b")}, {"tips", nurture::testing::email_template("a", "b")}}});
    campaign = nurture::testing::load_campaign_or_fail(dir.path());
  }
};

const std::string drip = nurture::testing::two_email_drip("2d");

Event created(const std::string& lead, nlohmann::json attrs) {
  Event e;
  e.type = "lead.created";
  e.lead = lead;
  e.attrs = std::move(attrs);
  return e;
}

const TimePoint t0 = sys_days{year{2026} / March / 2} + hours(8);

LeadSnapshot snapshot(const std::string& id) {
  LeadSnapshot lead;
  lead.id = id;
  return lead;
}

// Applies a transition to a snapshot the way the store would.
void apply(LeadSnapshot& lead, const Transition& t) {
  const std::uint64_t version = lead.version;
  lead = t.lead;
  lead.version = version + 1;
}

}  // namespace

TEST_CASE("a trigger enrolls the lead, sends the first email and arms a timer for the wait") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  Transition t = interpreter.apply_event(lead, created("L1", {{"email", "ana@example.com"}}), t0);
  CHECK(t.lead.attrs["email"] == "ana@example.com");
  CHECK(t.expected_version == 0);
  REQUIRE(t.actions.size() == 1);
  CHECK(t.actions[0].step == "hello");
  CHECK(t.actions[0].to == "ana@example.com");
  CHECK(t.actions[0].connector == "outbox");
  CHECK(t.actions[0].action_id == action_id("L1", "welcome", 1, 1, "hello", 1));
  REQUIRE(t.timers_to_add.size() == 1);
  CHECK(t.timers_to_add[0].second == t0 + hours(48));
  REQUIRE(t.lead.enrollments.count("welcome") == 1);
  CHECK(t.lead.enrollments.at("welcome").status == EnrollmentStatus::waiting);
  CHECK(t.lead.enrollments.at("welcome").step == 1);
  REQUIRE(t.timeline.size() == 2);
  CHECK(t.timeline[0].kind == "entered");
  CHECK(t.timeline[1].kind == "action");
}

TEST_CASE("an action carries its lead's attributes, score and stage as JSON, invalid UTF-8 repaired") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  lead.score = 12.5;
  lead.stage = "interest";
  const nlohmann::json attrs = {{"email", "ana@example.com"}, {"name", "Zoë \"Z\""}, {"seats", 3},
                                {"plan", {{"tier", "pro"}, {"since", nullptr}}}, {"odd", "bad \xff byte"}};
  Transition t = interpreter.apply_event(lead, created("L1", attrs), t0);
  REQUIRE(t.actions.size() == 1);
  const auto data = nlohmann::json::parse(t.actions[0].lead_data);
  CHECK(data.size() == 3);
  CHECK(data["s"] == 12.5);
  CHECK(data["st"] == "interest");
  CHECK(data["a"]["name"] == "Zoë \"Z\"");
  CHECK(data["a"]["seats"] == 3);
  CHECK(data["a"]["plan"] == attrs["plan"]);
  CHECK(data["a"]["odd"] == "bad \xef\xbf\xbd byte");
  CHECK(t.actions[0].lead_data ==
        nlohmann::json{{"a", t.lead.attrs}, {"s", 12.5}, {"st", "interest"}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

TEST_CASE("with a timeline sink the lines go to it, in order, and the transitions carry none") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  const Event event = created("L1", {{"email", "ana@example.com"}});
  const Transition without = interpreter.apply_event(lead, event, t0);

  std::vector<TimelineEntry> sink(1);  // what is there already stays first
  interpreter.timeline_into(&sink);
  Transition first = interpreter.apply_event(lead, event, t0);
  CHECK(first.timeline.empty());
  CHECK(first.counters.size() == without.counters.size());  // the lines still count
  apply(lead, first);
  const Transition second = interpreter.fire_timer(lead, first.timers_to_add[0].first, t0 + hours(48));
  CHECK(second.timeline.empty());
  interpreter.timeline_into(nullptr);

  REQUIRE(sink.size() == 1 + without.timeline.size() + 2);
  CHECK(sink[0].kind.empty());
  for (std::size_t i = 0; i < without.timeline.size(); ++i) {
    CHECK(sink[1 + i].kind == without.timeline[i].kind);
    CHECK(sink[1 + i].step == without.timeline[i].step);
  }
  CHECK(sink[sink.size() - 2].kind == "action");
  CHECK(sink.back().kind == "completed");
  CHECK(interpreter.fire_timer(lead, first.timers_to_add[0].first, t0 + hours(48)).timeline.size() == 2);
}

TEST_CASE("the timer continues after the wait, and the workflow completes at its end") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  Transition first = interpreter.apply_event(lead, created("L1", {{"email", "ana@example.com"}}), t0);
  apply(lead, first);
  const TimerRef timer = first.timers_to_add[0].first;
  Transition second = interpreter.fire_timer(lead, timer, t0 + hours(48));
  REQUIRE(second.actions.size() == 1);
  CHECK(second.actions[0].step == "tips");
  CHECK(second.expected_version == lead.version);
  CHECK(second.lead.enrollments.at("welcome").status == EnrollmentStatus::completed);
  CHECK(second.timeline.back().kind == "completed");
  CHECK(second.timers_to_remove.size() == 1);
}

TEST_CASE("a stale timer (its enrollment moved on) only removes itself") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  Transition first = interpreter.apply_event(lead, created("L1", {{"email", "ana@example.com"}}), t0);
  apply(lead, first);
  TimerRef stale = first.timers_to_add[0].first;
  stale.seq += 5;
  Transition t = interpreter.fire_timer(lead, stale, t0 + hours(48));
  CHECK(t.actions.empty());
  CHECK(t.lead.enrollments.at("welcome").pack() == lead.enrollments.at("welcome").pack());
  REQUIRE(t.timers_to_remove.size() == 1);
  CHECK(t.timers_to_remove[0].member() == stale.member());
}

TEST_CASE("a lead enrolls once: a second trigger while or after enrolled does nothing") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  apply(lead, interpreter.apply_event(lead, created("L1", {{"email", "a@example.com"}}), t0));
  Transition again = interpreter.apply_event(lead, created("L1", {}), t0 + hours(1));
  CHECK(again.actions.empty());
  CHECK(again.timeline.empty());
}

TEST_CASE("an email to a lead without an address is skipped with no_address, and the workflow goes on") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  Transition t = interpreter.apply_event(snapshot("L1"), created("L1", {{"first_name", "Ana"}}), t0);
  CHECK(t.actions.empty());
  REQUIRE(t.timeline.size() == 2);
  CHECK(t.timeline[1].kind == "skipped");
  CHECK(t.timeline[1].detail().reason == "no_address");
  CHECK(t.timers_to_add.size() == 1);
}

TEST_CASE("events of other types only merge attributes") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  Event e = created("L1", {{"plan", "pro"}});
  e.type = "page.viewed";
  Transition t = interpreter.apply_event(snapshot("L1"), e, t0);
  CHECK(t.lead.attrs == nlohmann::json{{"plan", "pro"}});
  CHECK(t.lead.enrollments.empty());
  CHECK(t.timeline.empty());
}

TEST_CASE("a goto loop visits a step again under a new action id") {
  Fixture f(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: remind
    email: { template: welcome }
  - id: pause
    wait: 1d
    goto: remind
)");
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  Transition first = interpreter.apply_event(lead, created("L1", {{"email", "a@example.com"}}), t0);
  apply(lead, first);
  Transition second = interpreter.fire_timer(lead, first.timers_to_add[0].first, t0 + hours(24));
  REQUIRE(second.actions.size() == 1);
  CHECK(second.actions[0].action_id == action_id("L1", "welcome", 1, 1, "remind", 2));
  CHECK(first.actions[0].action_id != second.actions[0].action_id);
}

TEST_CASE("an event nothing in the campaign looks at is not relevant, attributes always are") {
  Fixture f(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - id: registered
    wait_for: { event: webinar.registered, timeout: 1d }
  - branch:
      - if: { event: email.sent, within: 1d }
        goto: hello2
  - id: hello2
    email: { template: tips }
)");
  Interpreter interpreter(f.campaign);
  auto event = [](const char* type, nlohmann::json attrs = nlohmann::json::object()) {
    Event e;
    e.type = type;
    e.lead = "L1";
    e.attrs = std::move(attrs);
    return e;
  };
  CHECK(interpreter.is_relevant(event("lead.created")));        // a trigger
  CHECK(interpreter.is_relevant(event("webinar.registered")));  // a wait_for
  CHECK(interpreter.is_relevant(event("email.sent")));          // a condition looks back at it
  CHECK(interpreter.is_relevant(event("lead.unsubscribed")));   // suppression
  CHECK_FALSE(interpreter.is_relevant(event("page.viewed")));
  CHECK(interpreter.is_relevant(event("page.viewed", {{"plan", "pro"}})));
}

TEST_CASE("a waiting enrollment moves to the current version by step id, or finishes on its own") {
  Fixture v1(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - id: pause
    wait: 1d
  - id: tips
    email: { template: tips }
)");
  Fixture v2_keeps(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: intro
    email: { template: welcome }
  - id: pause
    wait: 1d
  - id: offer
    email: { template: tips }
)");
  Fixture v2_drops(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: intro
    email: { template: welcome }
  - id: other_wait
    wait: 1d
  - id: offer
    email: { template: tips }
)");
  LeadSnapshot lead = snapshot("L1");
  Interpreter first(v1.campaign);  // version 1
  Transition entered = first.apply_event(lead, created("L1", {{"email", "a@example.com"}}), t0);
  apply(lead, entered);
  const TimerRef timer = entered.timers_to_add[0].first;

  auto with_versions = [&](const Fixture& next) {
    WorkflowVersions versions;
    versions.add(1, std::make_shared<const workflows::Workflow>(v1.campaign.workflows[0]), false);
    versions.add(2, std::make_shared<const workflows::Workflow>(next.campaign.workflows[0]), true);
    return versions;
  };
  {
    Interpreter interpreter(v2_keeps.campaign, with_versions(v2_keeps));
    Transition t = interpreter.fire_timer(lead, timer, t0 + hours(24));
    REQUIRE(t.actions.size() == 1);
    CHECK(t.actions[0].step == "offer");  // moved: `pause` exists in version 2
    CHECK(t.actions[0].version == 2);
    CHECK(t.lead.enrollments.at("welcome").version == 2);
    // New leads enter the current version.
    Transition fresh = interpreter.apply_event(snapshot("L2"), created("L2", {{"email", "b@example.com"}}), t0);
    CHECK(fresh.actions[0].step == "intro");
    CHECK(fresh.timeline[0].version == 2);
  }
  {
    Interpreter interpreter(v2_drops.campaign, with_versions(v2_drops));
    Transition t = interpreter.fire_timer(lead, timer, t0 + hours(24));
    REQUIRE(t.actions.size() == 1);
    CHECK(t.actions[0].step == "tips");  // stayed: version 2 has no `pause`
    CHECK(t.actions[0].version == 1);
    CHECK(t.lead.enrollments.at("welcome").status == EnrollmentStatus::completed);
  }
}

namespace {

long counted(const Transition& t, const std::string& field) {
  return std::count_if(t.counters.begin(), t.counters.end(), [&](const Counter& c) { return c.field == field; });
}

Event engaged(const std::string& type, const std::string& lead, const std::string& step) {
  Event e;
  e.type = type;
  e.lead = lead;
  e.props = {{"workflow", "welcome"}, {"step", step}};
  return e;
}

}  // namespace

TEST_CASE("a lead waiting at an email step for the send window has reached it, and is counted there once") {
  Fixture f(R"(workflow: welcome
trigger: { event: lead.created }
send_window: { days: mon-fri, hours: "09:00-17:00", timezone: UTC }
steps:
  - id: welcome
    email: { template: welcome }
)");
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  // Monday 08:00 UTC: before the window. It waits at `welcome`, and the report counts it there.
  const Transition waits = interpreter.apply_event(lead, created("L1", {{"email", "ana@example.com"}}), t0);
  CHECK(waits.actions.empty());
  CHECK(counted(waits, "step:welcome:reached") == 1);
  // A click naming the step it has not been sent yet is no engagement.
  apply(lead, waits);
  const Transition early_click = interpreter.apply_event(lead, engaged("email.clicked", "L1", "welcome"), t0);
  CHECK(counted(early_click, "step:welcome:clicked") == 0);
  apply(lead, early_click);
  // 09:00: the window opens, the email goes, and `reached` is not counted a second time.
  REQUIRE(waits.timers_to_add.size() == 1);
  const Transition sends = interpreter.fire_timer(lead, waits.timers_to_add[0].first, waits.timers_to_add[0].second);
  CHECK(sends.actions.size() == 1);
  CHECK(counted(sends, "step:welcome:reached") == 0);
}

TEST_CASE("opens and clicks count for an email step the lead was sent, not for one it never reached") {
  Fixture f(drip);
  Interpreter interpreter(f.campaign);
  LeadSnapshot lead = snapshot("L1");
  const Transition first = interpreter.apply_event(lead, created("L1", {{"email", "ana@example.com"}}), t0);
  apply(lead, first);
  // `hello` went out; `tips` comes after a 2-day wait.
  const Transition sent_click = interpreter.apply_event(lead, engaged("email.clicked", "L1", "hello"), t0 + hours(1));
  CHECK(counted(sent_click, "step:hello:clicked") == 1);
  apply(lead, sent_click);
  const Transition unsent_click = interpreter.apply_event(lead, engaged("email.clicked", "L1", "tips"), t0 + hours(2));
  CHECK(counted(unsent_click, "step:tips:clicked") == 0);
  const Transition unknown_step = interpreter.apply_event(lead, engaged("email.opened", "L1", "nope"), t0 + hours(2));
  CHECK(counted(unknown_step, "step:nope:opened") == 0);
  const Transition stranger = interpreter.apply_event(snapshot("L2"), engaged("email.opened", "L2", "hello"), t0);
  CHECK(counted(stranger, "step:hello:opened") == 0);
}
