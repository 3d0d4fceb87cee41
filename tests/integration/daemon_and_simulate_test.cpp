// The daemon's path (Redis store, outbox, dispatcher, real connectors) and `simulate` (memory store) run the same
// interpreter; this checks that what they decide is the same, so a campaign tried in simulate behaves so live.
// Every state the language keeps per lead (history, counts, score with decay, stage, tags, suppression, visits)
// has to survive the round trip through the lead's Redis hash for the two to agree.

#include <doctest/doctest.h>

#include <set>

#include "connectors/builtins.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/runtime/simulation.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;
using nurture::testing::TempDir;

namespace {

const char* events_jsonl = R"({"type":"lead.created","lead":"L1","at":"2026-03-02T08:00:00Z","attrs":{"email":"l1@example.com","job_title":"VP Sales","timezone":"America/New_York"}}
{"type":"lead.created","lead":"L2","at":"2026-03-02T08:30:00Z","attrs":{"email":"l2@example.com"}}
{"type":"lead.created","lead":"L3","at":"2026-03-02T09:00:00Z","attrs":{"email":"l3@example.com"}}
{"type":"lead.created","lead":"L4","at":"2026-03-02T09:30:00Z","attrs":{"email":"l4@example.com","timezone":"Asia/Tokyo"}}
{"type":"email.clicked","lead":"L1","at":"2026-03-03T10:00:00Z","props":{"workflow":"nurture","step":"hello","url":"https://acme.example/pricing"}}
{"type":"page.viewed","lead":"L1","at":"2026-03-03T11:00:00Z","props":{"path":"/pricing"}}
{"type":"page.viewed","lead":"L2","at":"2026-03-04T11:00:00Z","props":{"path":"/pricing"}}
{"type":"webinar.registered","lead":"L2","at":"2026-03-06T12:00:00Z"}
{"type":"lead.unsubscribed","lead":"L3","at":"2026-03-05T12:00:00Z","props":{"channel":"email"}}
{"type":"purchase.completed","lead":"L4","at":"2026-03-08T12:00:00Z"}
)";

const char* workflow_yaml = R"(workflow: nurture
trigger: { event: lead.created }
exit_when:
  - event: purchase.completed
    goal: converted
send_window: { days: mon-fri, hours: "09:00-17:00", timezone: lead, fallback: Europe/Berlin }
steps:
  - id: hello
    email: { template: t }
  - wait: 2d
  - branch:
      - if: { event: email.clicked, step: hello, within: 3d }
        goto: hot
      - else: invite
  - id: hot
    email: { template: t }
  - score: +5
  - handoff: { connector: crm, note: "clicked the welcome email" }
  - exit: { goal: handed_off }
  - id: invite
    email: { template: t }
  - id: registration
    wait_for: { event: webinar.registered, timeout: 4d }
    on_timeout: reminder
  - id: confirm
    post: { connector: crm, template: p }
    goto: done
  - id: reminder
    email: { template: t }
  - wait: 1d
    goto: split
  - id: split
    split:
      - { weight: 1, goto: last }
      - { weight: 1, goto: done }
  - id: last
    email: { template: t }
  - id: done
    set: { tag: nurtured, stage: nurtured }
)";

// A segment's `within` expiring (a timer of the lead's own) starts a workflow through segment.left.
const char* winback_yaml = R"(workflow: winback
trigger: { event: segment.left, when: { not: { segment: engaged } } }
steps:
  - id: miss_you
    email: { template: t }
)";

}  // namespace

TEST_CASE("the daemon's path on Redis and simulate make the same decisions for the same events") {
  TempDir dir;
  nurture::testing::write_campaign(
      dir / "campaign",
      {R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
partitions: 4
frequency_cap: { email: { max: 1, per: 50h } }
connectors:
  outbox: { type: file, dir: ./outbox }
  crm: { type: file, dir: ./crm }
)",
       {{"nurture", workflow_yaml}, {"winback", winback_yaml}},
       {{"t", nurture::testing::email_template("Hi {{lead.email}}", "<p>x</p>")}, {"p", "Post for {{lead.id}}"}}});
  nurture::testing::write_file(dir / "campaign/scoring.yaml", R"(rules:
  - { event: page.viewed, where: { prop.path: "/pricing" }, points: 10 }
  - { attr: job_title, matches: "(?i)vp", points: 7 }
decay: { half_life: 7d }
stages:
  lead: { attr.email: { exists: true } }
  mql: { score: { gte: 15 } }
  nurtured: { tag: nurtured }
)");
  nurture::testing::write_file(dir / "campaign/segments.yaml", R"(engaged: { event: email.clicked, within: 3d }
pricing: { any: [ { stage: mql }, { event: page.viewed, where: { prop.path: "/pricing" } } ] }
)");
  const auto campaign = nurture::testing::load_campaign_or_fail(dir / "campaign");
  auto events = read_event_lines(events_jsonl, "events");
  REQUIRE(events);

  Simulation simulation(campaign);
  const auto timeline = simulation.run(*events, {});
  std::set<std::string> simulated;
  for (const auto& action : simulation.actions()) simulated.insert(action.action_id);
  REQUIRE(simulated.size() >= 6);
  bool won_back = false;  // L1 clicked on day 2 and left `engaged` three days later
  for (const auto& line : timeline) won_back = won_back || (line.workflow == "winback" && line.kind == "action");
  CHECK(won_back);
  CHECK(simulation.leads().at("L2").segments == std::set<std::string>{"pricing"});
  // The frequency cap decided something: some email was skipped for it, in both paths alike.
  bool capped = false;
  for (const auto& line : timeline) capped = capped || line.detail().reason == "frequency_cap";
  CHECK(capped);

  // The same events through Redis, stepping a virtual clock exactly as simulate does: timers due at or before an
  // event fire first, at their due time.
  nurture::testing::RedisServer redis(dir / "redis");
  redis::RedisStore store(redis.connect(), redis::RedisStoreOptions{"nurture:", 4, "t", hours(24), hours(24)});
  store.prepare();
  templates::TemplateLibrary templates(campaign.templates_dir);
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto connectors = ConnectorSet::create(campaign.config, registry);
  REQUIRE(connectors);
  VirtualClock clock(events->front().at);
  Engine engine(store, campaign, templates, *connectors, clock);
  auto fire_timers_until = [&](std::optional<TimePoint> limit) {
    while (auto due = store.next_timer_due()) {
      if (limit && *due > *limit) break;
      clock.set(std::max(*due, clock.now()));
      engine.drain();
    }
  };
  for (const auto& event : *events) {
    fire_timers_until(event.at);
    clock.set(event.at);
    store.add_event(to_stream_fields(event));
    engine.drain();
  }
  fire_timers_until(std::nullopt);

  std::set<std::string> delivered;
  for (const char* folder : {"outbox", "crm"}) {
    for (const auto& file : std::filesystem::directory_iterator(dir / "campaign" / folder)) {
      delivered.insert(file.path().stem().string());
    }
  }
  CHECK(delivered == simulated);
  for (const auto& [id, lead] : simulation.leads()) {
    const LeadSnapshot stored = store.load_lead(id);
    CAPTURE(id);
    CHECK(stored.stage == lead.stage);
    CHECK(stored.tags == lead.tags);
    CHECK(stored.suppressed == lead.suppressed);
    CHECK(stored.score == doctest::Approx(lead.score));
    CHECK(stored.recent_sends_ms == lead.recent_sends_ms);
    CHECK(stored.segments == lead.segments);
    CHECK(stored.segments_check_ms == lead.segments_check_ms);
    for (const auto& [workflow, enrollment] : lead.enrollments) {
      CHECK(stored.enrollments.at(workflow).pack() == enrollment.pack());
    }
    CHECK(stored.score_log.size() == lead.score_log.size());
    CHECK(stored.stage_history == lead.stage_history);
  }
  const auto l1_stages = simulation.leads().at("L1").stage_history;
  REQUIRE(l1_stages.size() >= 2);
  CHECK(l1_stages[0].first == "lead");
  CHECK(l1_stages[1].first == "mql");
  // L1's hand-off tells sales why it qualified: each rule's points, and the events behind them with their props.
  nlohmann::json handoff;
  for (const auto& file : std::filesystem::directory_iterator(dir / "campaign" / "crm")) {
    const auto body = nlohmann::json::parse(nurture::testing::read_file(file.path()), nullptr, false);
    if (body.is_object() && body.value("kind", "") == "handoff") handoff = body;
  }
  REQUIRE(handoff.is_object());
  CHECK(handoff["lead"]["id"] == "L1");
  CHECK(handoff["score_breakdown"] == nlohmann::json::parse(R"([
    {"rule": "attr:job_title", "points": 7.0, "at": "2026-03-02T08:00:00Z"},
    {"rule": "event:page.viewed", "points": 10.0, "at": "2026-03-03T11:00:00Z"}])"));
  bool pricing_view = false, click = false;
  for (const auto& event : handoff["recent"]) {
    pricing_view = pricing_view || (event["type"] == "page.viewed" && event["props"]["path"] == "/pricing");
    click = click || (event["type"] == "email.clicked" && event.value("step", "") == "hello" &&
                      event["props"]["url"] == "https://acme.example/pricing");
  }
  CHECK(pricing_view);
  CHECK(click);
}
