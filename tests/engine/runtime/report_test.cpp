// `nurture report`'s numbers: the A/B test of a split, sends per day, and the HTML page drawing the same numbers.
#include <doctest/doctest.h>

#include "engine/runtime/report.hpp"
#include "engine/store/memory/memory_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using nurture::testing::TempDir;

namespace {

const char* split_workflow = R"(workflow: launch
trigger: { event: lead.created }
exit_when:
  - { event: demo.booked, goal: demo }
steps:
  - id: ab
    split:
      - { weight: 50, goto: subject_a }
      - { weight: 50, goto: subject_b }
  - id: subject_a
    email: { template: a }
    goto: later
  - id: subject_b
    email: { template: b }
  - id: later
    wait: 3d
)";

WorkflowReport launch_report(CounterMap counters) {
  TempDir dir;
  testing::write_campaign(dir.path(), {testing::minimal_config,
                                       {{"launch", split_workflow}},
                                       {{"a", testing::email_template("A", "<p>a</p>")},
                                        {"b", testing::email_template("B", "<p>b</p>")}}});
  const auto campaign = testing::load_campaign_or_fail(dir.path());
  return build_report(campaign, {{"launch", std::move(counters)}}).front();
}

}  // namespace

TEST_CASE("two proportions: the z-test's two-sided p-value") {
  CHECK(two_proportion_p_value(60, 100, 40, 100) == doctest::Approx(0.00468).epsilon(0.01));
  CHECK(two_proportion_p_value(10, 100, 10, 100) == doctest::Approx(1.0));
  CHECK(two_proportion_p_value(12, 100, 10, 100) == doctest::Approx(0.6526).epsilon(0.01));
  CHECK(two_proportion_p_value(0, 0, 5, 10) == 1.0);
  CHECK(two_proportion_p_value(0, 10, 0, 10) == 1.0);  // nothing varies
}

TEST_CASE("a split's arms are compared on conversion, and a winner is named only below p = 0.05") {
  const WorkflowReport clear = launch_report({{"split:ab:0:entered", 100}, {"split:ab:0:goals", 30},
                                              {"split:ab:1:entered", 100}, {"split:ab:1:goals", 12},
                                              {"split:ab:0:sent", 100}, {"split:ab:0:clicked", 5}});
  REQUIRE(clear.splits.size() == 1);
  const SplitReport& split = clear.splits.front();
  CHECK(split.metric == "conversion");
  REQUIRE(split.arms.size() == 2);
  CHECK(split.arms[0].target == "subject_a");
  CHECK(split.arms[0].goals == 30);
  CHECK(split.arms[0].clicked == 5);
  REQUIRE(split.p_value);
  CHECK(*split.p_value < 0.01);
  CHECK(split.winner == "subject_a");
  CHECK(split_verdict(split).rfind("winner subject_a (p = ", 0) == 0);

  const WorkflowReport close = launch_report({{"split:ab:0:entered", 100}, {"split:ab:0:goals", 12},
                                              {"split:ab:1:entered", 100}, {"split:ab:1:goals", 10}});
  REQUIRE(close.splits.front().p_value);
  CHECK(*close.splits.front().p_value > 0.05);
  CHECK(close.splits.front().winner.empty());
  CHECK(split_verdict(close.splits.front()).rfind("no winner yet", 0) == 0);

  const WorkflowReport early = launch_report({{"split:ab:0:entered", 3}});
  CHECK_FALSE(early.splits.front().p_value);
  CHECK(split_verdict(early.splits.front()) == "not enough data yet");
}

TEST_CASE("the report's JSON keeps its documented fields and adds splits and sends per day") {
  const WorkflowReport r = launch_report({{"entered", 4}, {"step:subject_a:sent", 2}, {"sent:2026-03-02", 3},
                                          {"sent:2026-03-04", 1}, {"split:ab:0:entered", 2}});
  CHECK(r.sent_per_day == std::map<std::string, long>{{"2026-03-02", 3}, {"2026-03-04", 1}});
  const auto json = report_json({r});
  const auto& w = json["workflows"][0];
  CHECK(w["entered"] == 4);
  CHECK(w["steps"][1]["step"] == "subject_a");
  CHECK(w["steps"][1]["sent"] == 2);
  CHECK(w["sent_per_day"]["2026-03-02"] == 3);
  CHECK(w["splits"][0]["arms"][0]["goto"] == "subject_a");
  CHECK(w["splits"][0]["arms"][0]["entered"] == 2);
  CHECK(w["splits"][0]["winner"].is_null());
}

TEST_CASE("the HTML report draws its charts inline, with the numbers of the table, and nothing outside the page") {
  const WorkflowReport r = launch_report({{"entered", 200}, {"step:ab:reached", 200}, {"step:subject_a:reached", 100},
                                          {"step:subject_a:sent", 97}, {"step:subject_a:opened", 41},
                                          {"step:subject_a:clicked", 13}, {"goal:demo", 42}, {"sent:2026-03-02", 150},
                                          {"sent:2026-03-05", 47}, {"split:ab:0:entered", 100},
                                          {"split:ab:0:goals", 30}, {"split:ab:1:entered", 100},
                                          {"split:ab:1:goals", 12}});
  const std::string html = report_html({r}, "nurture report: <launch>");
  CHECK(html.find("<title>nurture report: &lt;launch&gt;</title>") != std::string::npos);
  CHECK(html.find("default-src 'none'") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);
  CHECK(html.find(">97 ") == std::string::npos);  // sent without a note...
  CHECK(html.find(">97</text>") != std::string::npos);  // ...is drawn as its number
  CHECK(html.find(">41 (42.3%)</text>") != std::string::npos);
  CHECK(html.find(">13 (13.4% CTR)</text>") != std::string::npos);
  CHECK(html.find("2026-03-04: 0") != std::string::npos);  // a day without sends is a column of 0
  CHECK(html.find(">30 of 100 = 30.0%</text>") != std::string::npos);
  CHECK(html.find("winner subject_a") != std::string::npos);
  CHECK(html.find("width=\"-") == std::string::npos);
  CHECK(html.find("height=\"-") == std::string::npos);
}

TEST_CASE("the report names the version running now and, after a reload, the versions its counts span") {
  nurture::testing::TempDir dir;
  nurture::testing::write_campaign(dir.path(), {nurture::testing::minimal_config,
                                                {{"welcome", nurture::testing::two_email_drip("1d")}},
                                                {{"welcome", nurture::testing::email_template("a", "b")},
                                                 {"tips", nurture::testing::email_template("a", "b")}}});
  const auto campaign = nurture::testing::load_campaign_or_fail(dir.path());
  VirtualClock clock{std::chrono::sys_days{std::chrono::year{2026} / std::chrono::March / 2}};
  memory::MemoryStore store{clock};
  CHECK(store.workflow_versions("welcome").empty());
  store.pin_workflow("welcome", "version one");
  store.pin_workflow("welcome", "version two");
  const std::map<std::string, std::vector<int>> versions = {{"welcome", store.workflow_versions("welcome")}};
  CHECK(versions.at("welcome") == std::vector<int>{1, 2});
  const auto report = build_report(campaign, {{"welcome", {{"entered", 3}}}}, versions);
  CHECK(report.front().version == 2);
  CHECK(report_json(report)["workflows"][0]["versions"] == nlohmann::json::array({1, 2}));
  CHECK(report_table(report).rfind("welcome (version 2, counts since version 1): entered 3", 0) == 0);
  // Before any version is pinned (a store the daemon never ran on): version 1.
  CHECK(build_report(campaign, {}).front().version == 1);
}
