#include <doctest/doctest.h>

#include <map>
#include <set>
#include <tuple>

#include "engine/runtime/simulation.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using nurture::testing::TempDir;

namespace {
const char* const config = nurture::testing::minimal_config;
}  // namespace

TEST_CASE("a split sends each arm its share of leads, within 2% over 10k leads, the same on every run") {
  TempDir dir;
  nurture::testing::write_campaign(dir.path(), {config,
                                                {{"ab", R"(workflow: ab
trigger: { event: lead.created }
steps:
  - id: ab
    split:
      - { weight: 50, goto: a }
      - { weight: 30, goto: b }
      - { weight: 20, goto: c }
  - id: a
    exit: { goal: a }
  - id: b
    exit: { goal: b }
  - id: c
    exit: { goal: c }
)"}},
                                                {}});
  const auto campaign = nurture::testing::load_campaign_or_fail(dir.path());
  std::vector<Event> events;
  const TimePoint t0 = *parse_rfc3339("2026-03-02T08:00:00Z");
  for (int i = 0; i < 10000; ++i) {
    Event e;
    e.type = "lead.created";
    e.lead = "lead-" + std::to_string(i);
    e.at = t0;
    events.push_back(e);
  }
  auto count = [&] {
    Simulation simulation(campaign);
    std::map<std::string, int> goals;
    for (const auto& line : simulation.run(events, {})) {
      if (line.kind == "exited") ++goals[line.detail().goal];
    }
    return goals;
  };
  const auto goals = count();
  CHECK(goals.at("a") == doctest::Approx(5000).epsilon(0.04));  // 50% +- 2 points of 10k = +-200
  CHECK(std::abs(goals.at("a") - 5000) <= 200);
  CHECK(std::abs(goals.at("b") - 3000) <= 200);
  CHECK(std::abs(goals.at("c") - 2000) <= 200);
  CHECK(count() == goals);  // deterministic per lead
}

TEST_CASE("event lines need `at` and the wire format, errors name the line") {
  CHECK(read_event_lines("{\"type\":\"x\",\"lead\":\"L1\",\"at\":\"2026-03-02T08:00:00Z\"}\n\n", "e.jsonl")->size() == 1);
  CHECK(read_event_lines("{\"type\":\"x\",\"lead\":\"L1\"}", "e.jsonl").error().format() ==
        "e.jsonl:1: error: missing field `at` (\"at\":\"2026-03-02T09:00:00Z\")");
  CHECK(read_event_lines("\n{oops", "e.jsonl").error().format().rfind("e.jsonl:2: error: not a JSON object (", 0) == 0);
  CHECK(read_event_lines("{\"type\":\"x\",\"lead\":\"L 1\",\"at\":\"2026-03-02T08:00:00Z\"}", "e.jsonl").error().format() ==
        "e.jsonl:1: error: `lead` must be 1-128 bytes of UTF-8 without whitespace or controls");
  auto attrs = read_event_lines(
      "{\"type\":\"x\",\"lead\":\"L1\",\"at\":\"2026-03-02T08:00:00Z\",\"attrs\":{\"n\":2},\"props\":{\"p\":\"q\"}}", "e");
  REQUIRE(attrs);
  CHECK((*attrs)[0].attrs["n"] == 2);
  CHECK((*attrs)[0].props["p"] == "q");
}

TEST_CASE("timeline lines print their fields in the documented order, and sort lead-less lines first") {
  TimelineEntry stage;
  stage.at = *parse_rfc3339("2026-03-05T10:00:00Z");
  stage.lead = "L2";
  stage.kind = "stage";
  stage.mutable_detail().from = "lead";
  stage.mutable_detail().to = "mql";
  stage.mutable_detail().score = 52;
  CHECK(timeline_json(stage).dump() ==
        R"({"at":"2026-03-05T10:00:00Z","lead":"L2","kind":"stage","from":"lead","to":"mql","score":52})");
  TimelineEntry exited = stage;
  exited.workflow = "welcome";
  exited.kind = "exited";
  exited.mutable_detail().reason = "goal";
  exited.mutable_detail().goal = "converted";
  CHECK(timeline_json(exited).dump() ==
        R"({"at":"2026-03-05T10:00:00Z","lead":"L2","workflow":"welcome","kind":"exited","reason":"goal","goal":"converted"})");
  // A copy has its own detail: writing the copy's left the original as it was.
  CHECK(stage.detail().reason.empty());
  CHECK(stage.detail().to == "mql");
  exited = stage;
  CHECK(exited.detail().reason.empty());
  CHECK(TimelineEntry().detail().to.empty());
  TimelineEntry post = stage;
  post.lead.clear();
  post.kind = "post";
  std::vector<TimelineEntry> timeline{stage, post};
  sort_timeline(timeline);
  CHECK(timeline[0].kind == "post");
}

TEST_CASE("a simulation spread over threads writes the same timeline, actions and leads as one thread") {
  TempDir dir;
  nurture::testing::write_campaign(dir.path(), {config,
                                                {{"nurture", R"(workflow: nurture
trigger: { event: lead.created }
exit_when:
  - event: purchase.completed
    goal: converted
steps:
  - id: first
    email: { template: t }
  - wait: 1d
  - branch:
      - if: { event: email.clicked, step: first }
        goto: clicked
      - else: quiet
  - id: clicked
    email: { template: t }
    goto: later
  - id: quiet
    split:
      - { weight: 50, goto: later }
      - { weight: 50, goto: nudge }
  - id: nudge
    email: { template: t }
  - id: later
    wait: 2d
  - id: last
    email: { template: t }
)"}},
                                                {{"t", nurture::testing::email_template("s", "hello")}}});
  const auto campaign = nurture::testing::load_campaign_or_fail(dir.path());
  std::vector<Event> events;
  const TimePoint t0 = *parse_rfc3339("2026-03-02T08:00:00Z");
  for (int i = 0; i < 900; ++i) {
    Event created;
    created.type = "lead.created";
    created.lead = "lead-" + std::to_string(i);
    created.at = t0 + std::chrono::minutes(i % 7);  // many leads at one instant: the order among them matters
    created.attrs = {{"email", "l" + std::to_string(i) + "@example.com"}};
    events.push_back(created);
    if (i % 3 == 0) {
      Event click{"email.clicked", created.lead, created.at + std::chrono::hours(3)};
      click.props = {{"workflow", "nurture"}, {"step", "first"}};
      events.push_back(click);
    }
    if (i % 11 == 0) events.push_back(Event{"purchase.completed", created.lead, created.at + std::chrono::hours(30)});
  }
  auto run = [&](unsigned threads) {
    Simulation simulation(campaign, threads);
    std::string lines;
    for (const auto& line : simulation.run(events, {})) lines += timeline_json(line).dump() + "\n";
    std::set<std::string> actions;
    for (const auto& action : simulation.actions()) actions.insert(action.action_id);
    std::map<std::string, std::string> leads;
    for (const auto& [id, lead] : simulation.leads()) {
      for (const auto& [workflow, enrollment] : lead.enrollments) leads[id] += enrollment.pack();
    }
    return std::make_tuple(lines, actions, leads);
  };
  const auto one = run(1);
  CHECK(std::get<0>(one).size() > 10000);
  CHECK(std::get<1>(one).size() > 1000);
  CHECK(std::get<2>(one).size() == 900);
  for (unsigned threads : {2U, 3U}) {
    CAPTURE(threads);
    const auto spread = run(threads);
    CHECK(std::get<0>(spread) == std::get<0>(one));
    CHECK(std::get<1>(spread) == std::get<1>(one));
    CHECK(std::get<2>(spread) == std::get<2>(one));
  }
}
