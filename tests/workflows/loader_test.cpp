#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "workflows/campaign.hpp"
#include "workflows/duration.hpp"

using namespace nurture::workflows;
using nurture::testing::TempDir;
using nurture::testing::write_file;
using nurture::testing::email_template;

namespace {

const char* config_yaml = R"(redis: auto
sender:
  from: "Acme <hello@acme.example>"
  postal_address: "1 Main St"
defaults:
  email: outbox
connectors:
  outbox: { type: file, dir: ./outbox }
)";

// A campaign directory with one workflow and the templates `welcome` and `tips`.
struct CampaignDir {
  TempDir dir;
  explicit CampaignDir(const std::string& workflow, const std::string& config = config_yaml) {
    write_file(dir / "nurture.yaml", config);
    write_file(dir / "workflows/welcome.yaml", workflow);
    write_file(dir / "templates/welcome.mustache", email_template("Hi", "<p>hi</p>"));
    write_file(dir / "templates/tips.mustache", email_template("Tips", "<p>tips</p>"));
  }
  CampaignLoad load() const { return load_campaign(dir.path()); }
};

std::string all_messages(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.format() + "\n";
  return out;
}

}  // namespace

TEST_CASE("a workflow with email and wait steps loads into the model") {
  CampaignDir campaign(R"(workflow: welcome
name: Welcome
trigger:
  event: lead.created
steps:
  - id: hello
    email: { template: welcome }
  - wait: 2d
  - email: { template: tips, to: attr.work_email }
)");
  auto load = campaign.load();
  REQUIRE_MESSAGE(load.ok(), all_messages(load.diagnostics));
  REQUIRE(load.campaign.workflows.size() == 1);
  const Workflow& w = load.campaign.workflows[0];
  CHECK(w.id == "welcome");
  CHECK(w.trigger.event == "lead.created");
  REQUIRE(w.steps.size() == 3);
  CHECK(w.steps[0].id == "hello");
  CHECK(w.steps[1].id == "step-2");  // unnamed steps are step-N, 1-based
  CHECK(w.steps[2].id == "step-3");
  const auto& hello = std::get<EmailStep>(w.steps[0].action);
  CHECK(hello.template_name == "welcome");
  CHECK(hello.connector == "outbox");  // from defaults.email
  CHECK(std::get<WaitStep>(w.steps[1].action).duration == std::chrono::hours(48));
  CHECK(std::get<EmailStep>(w.steps[2].action).to == "attr.work_email");
  CHECK(w.next_after(0) == 1u);
  CHECK_FALSE(w.next_after(2).has_value());
  CHECK_FALSE(w.may_revisit);  // no way back: each step is reached at most once
}

TEST_CASE("the loader records whether a workflow has a way back to an earlier step") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - wait: 2d
  - branch:
      - if: { attr.plan: { eq: pro } }
        goto: tips
      - else: hello
  - id: tips
    email: { template: tips }
)");
  auto load = campaign.load();
  REQUIRE_MESSAGE(load.ok(), all_messages(load.diagnostics));
  const Workflow& w = load.campaign.workflows[0];
  CHECK(w.may_revisit);  // the branch's else goes back to `hello`
  CHECK(w.has_way_back());
}

TEST_CASE("an unknown key is an error at its line and column, with the likely key") {
  CampaignDir campaign(R"(workflow: welcome
trigger:
  event: lead.created
stpes:
  - email: { template: welcome }
)");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find("workflows/welcome.yaml:4:1: error: unknown key \"stpes\" in a workflow (did you mean "
                  "\"steps\"?)") != std::string::npos);
}

TEST_CASE("a goto to a missing step names the step it probably meant") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
    goto: deep_dvie
  - id: deep_dive
    wait: 1d
)");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find(
            "workflows/welcome.yaml:6:11: error: goto target \"deep_dvie\" does not exist (did you mean "
            "\"deep_dive\"?)") != std::string::npos);
}

TEST_CASE("every problem of a file is reported in one run, not just the first") {
  CampaignDir campaign(R"(workflow: Welcome!
trigger: { event: lead.created }
steps:
  - email: { template: missing_one }
  - wait: 2days
  - email: { template: welcome }
    wait: 1d
  - id: a
    wait: 1d
  - id: a
    wait: 1d
)");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find(":1:11: error: workflow id \"Welcome!\" is not valid") != std::string::npos);
  CHECK(text.find(":5:11: error: \"2days\" is not a duration") != std::string::npos);
  CHECK(text.find(":6:5: error: a step has exactly one action, this one has email, wait") != std::string::npos);
  CHECK(text.find(":10:9: error: step id \"a\" is used twice") != std::string::npos);
  CHECK(text.find("template \"missing_one\" does not exist (create templates/missing_one.mustache)") !=
        std::string::npos);
}

TEST_CASE("a YAML syntax error names its position") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created\nsteps: []\n");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find("workflows/welcome.yaml:") != std::string::npos);
  CHECK(text.find("error: YAML syntax") != std::string::npos);
}

TEST_CASE("an email step naming an unconfigured connector is refused with the closest name") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - email: { template: welcome, connector: outbx }
)");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("connector \"outbx\" is not configured (did you mean \"outbox\"?)") !=
        std::string::npos);
}

TEST_CASE("nurture.yaml is checked like workflows: unknown keys and connectors without a type") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - wait: 1d\n",
                       R"(redis: auto
sendr: { from: "a@b.example" }
connectors:
  outbox: { dir: ./outbox }
)");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find("nurture.yaml:2:1: error: unknown key \"sendr\" in nurture.yaml (did you mean \"sender\"?)") !=
        std::string::npos);
  CHECK(text.find("nurture.yaml:4:3: error: connector \"outbox\" has no `type`") != std::string::npos);
}

TEST_CASE("nurture.yaml's `redis:` is checked as `run` reads it, so validate refuses what run would") {
  const char* flow = "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - wait: 1d\n";
  for (const char* good : {"auto", "redis://127.0.0.1:6379/0", "redis://cache.internal", "unix:///run/redis.sock",
                           "redis-cluster://10.0.0.1:7000", "redis-cluster://r1.internal:7000,r2.internal:7001,[::1]:7002"}) {
    CAPTURE(good);
    CampaignDir campaign(flow, fmt::format("redis: \"{}\"\n", good));
    auto load = campaign.load();
    CHECK_MESSAGE(load.ok(), all_messages(load.diagnostics));
  }
  const std::pair<const char*, const char*> bad[] = {
      {"localhost:6379", "the scheme must be redis://, unix:// or redis-cluster://"},
      {"redis://127.0.0.1:6379/zero", "the path must be a database number"},
      {"unix://relative.sock", "a unix:// URL needs an absolute socket path"},
      {"http://127.0.0.1:6379", "the scheme must be redis://, unix:// or redis-cluster://"},
      {"redis-cluster://", "name at least one seed node"},
      {"redis-cluster://10.0.0.1", "seed \"10.0.0.1\" needs a port"},
      {"redis-cluster://10.0.0.1:7000,,10.0.0.2:7000", "seed \"\" is not host:port"},
      {"redis-cluster://10.0.0.1:7000/0", "seed \"10.0.0.1:7000/0\" is not host:port"},
      {"redis-cluster://user@10.0.0.1:7000", "seed \"user@10.0.0.1:7000\" is not host:port"},
      {"redis-cluster://10.0.0.1:70000", "seed \"10.0.0.1:70000\" needs a port from 1 to 65535"},
  };
  for (const auto& [url, why] : bad) {
    CAPTURE(url);
    CampaignDir campaign(flow, fmt::format("redis: \"{}\"\n", url));
    auto load = campaign.load();
    REQUIRE_FALSE(load.ok());
    const std::string text = all_messages(load.diagnostics);
    CHECK_MESSAGE(text.find(fmt::format("nurture.yaml:1:8: error: `redis` \"{}\": {}", url, why)) != std::string::npos,
                  text);
    CHECK(text.find("redis://host:6379/0") != std::string::npos);  // the fix names the shapes that work
  }
}

TEST_CASE("nurture.yaml's `events.streams:` is from 1 to 64") {
  const char* flow = "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - wait: 1d\n";
  CampaignDir three(flow, "events: { streams: 3 }\n");
  auto load = three.load();
  REQUIRE_MESSAGE(load.ok(), all_messages(load.diagnostics));
  CHECK(load.campaign.config.event_streams == 3);
  CampaignDir too_many(flow, "events: { streams: 65 }\n");
  auto refused = too_many.load();
  REQUIRE_FALSE(refused.ok());
  CHECK_MESSAGE(all_messages(refused.diagnostics).find("nurture.yaml:1:20: error: events.streams: 65 is more than 64") !=
                    std::string::npos,
                all_messages(refused.diagnostics));
}

TEST_CASE("nurture.yaml's `durability:` is async or replicated") {
  const char* flow = "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - wait: 1d\n";
  CampaignDir replicated(flow, "durability: replicated\n");
  auto load = replicated.load();
  REQUIRE_MESSAGE(load.ok(), all_messages(load.diagnostics));
  CHECK(load.campaign.config.durability_replicated);
  CampaignDir unknown(flow, "durability: fast\n");
  auto refused = unknown.load();
  REQUIRE_FALSE(refused.ok());
  CHECK_MESSAGE(all_messages(refused.diagnostics)
                        .find("nurture.yaml:1:13: error: durability \"fast\" is not known (async (the default) or "
                              "replicated (each commit waits for a replica))") != std::string::npos,
                all_messages(refused.diagnostics));
}

TEST_CASE("nurture.yaml's `attributes:` names types it knows, and a declared attribute silences the template warning") {
  const char* flow = "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - email: { template: welcome }\n";
  const char* config = "sender: {{ from: \"a@b.example\", postal_address: x }}\ndefaults: {{ email: outbox }}\n"
                       "connectors:\n  outbox: {{ type: file, dir: ./outbox }}\nattributes: {{ {} }}\n";
  CampaignDir unknown_type(flow, fmt::format(fmt::runtime(config), "seats: number, plan: text"));
  auto refused = unknown_type.load();
  REQUIRE_FALSE(refused.ok());
  CHECK_MESSAGE(all_messages(refused.diagnostics)
                        .find("nurture.yaml:5:36: error: attribute type \"text\" is not known (string, number, "
                              "boolean, date, email or timezone)") != std::string::npos,
                all_messages(refused.diagnostics));
  const std::string uses_seats =
      "---\nsubject: Hi\n---\n<p>{{lead.seats}}</p>{{sender.postal_address}} {{unsubscribe_url}}\n";
  CampaignDir undeclared(flow, fmt::format(fmt::runtime(config), "plan: string"));
  write_file(undeclared.dir / "templates/welcome.mustache", uses_seats);
  auto warned = undeclared.load();
  REQUIRE(warned.ok());
  CHECK(all_messages(warned.diagnostics).find("template variable lead.seats is not an attribute") != std::string::npos);
  CampaignDir declared(flow, fmt::format(fmt::runtime(config), "seats: number"));
  write_file(declared.dir / "templates/welcome.mustache", uses_seats);
  auto quiet = declared.load();
  REQUIRE(quiet.ok());
  CHECK(quiet.diagnostics.empty());
}

TEST_CASE("the example campaigns are valid, without warnings") {
  for (const char* example : {"welcome", "webinar", "reengage"}) {
    CAPTURE(example);
    auto load = load_campaign(std::string(NURTURE_SOURCE_DIR) + "/examples/" + example);
    CHECK_MESSAGE(load.ok(), all_messages(load.diagnostics));
    CHECK(load.diagnostics.empty());
    CHECK(load.campaign.workflows.size() == 1);
  }
}

TEST_CASE("a template variable no source declares is a warning, not an error") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created, when: { attr.plan: pro } }
steps:
  - email: { template: welcome }
)");
  write_file(campaign.dir / "templates/welcome.mustache",
             "---\nsubject: Hi {{lead.first_name}}\n---\n<p>{{lead.plan}} at {{ lead.compnay }}</p>\n"
             "{{sender.postal_address}} {{unsubscribe_url}}\n");
  auto load = campaign.load();
  CHECK(load.ok());
  REQUIRE(load.diagnostics.size() == 1);
  CHECK(load.diagnostics[0].format() ==
        "templates/welcome.mustache:4:21: warning: template variable lead.compnay is not an attribute this campaign "
        "knows of (check the spelling; if producers send it, declare it under `attributes:` in nurture.yaml)");
}

TEST_CASE("the whole language loads: trigger.when, reentry, exit_when, send_window and every step kind") {
  CampaignDir campaign(R"(workflow: welcome
trigger:
  event: lead.created
  when: { attr.country: { in: [DE, AT] } }
reentry: after 30d
exit_when:
  - event: purchase.completed
    goal: converted
  - condition: { stage: mql }
send_window: { days: mon-fri, hours: "09:00-17:00", timezone: lead, fallback: Europe/Berlin }
steps:
  - id: hello
    email: { template: welcome }
  - wait_until: { at: "09:00", days: [mon, wed] }
  - id: registered
    wait_for: { event: webinar.registered, where: { prop.webinar: w1 }, timeout: 5d }
    on_timeout: last
  - id: check
    branch:
      - if: { event: email.clicked, step: hello, within: 7d }
        goto: ab
      - if: { any: [ { score: { gte: 50 } }, { not: { tag: cold } } ] }
        goto: last
      - else: ab
  - id: ab
    split:
      - { weight: 70, goto: a }
      - { weight: 30, goto: last }
  - id: a
    post: { connector: outbox, template: tips }
  - score: -3
  - set: { attr.nurtured: true, stage: mql, tag: warm }
  - webhook: { connector: outbox }
  - handoff: { connector: outbox, note: "Finished" }
  - id: last
    email: { template: tips }
  - exit: { goal: done }
)");
  auto load = campaign.load();
  REQUIRE_MESSAGE(load.ok(), all_messages(load.diagnostics));
  const Workflow& w = load.campaign.workflows[0];
  REQUIRE(w.trigger.when);
  CHECK(w.reentry.policy == Reentry::Policy::after);
  CHECK(w.reentry.after == std::chrono::hours(24 * 30));
  REQUIRE(w.exit_when.size() == 2);
  CHECK(w.exit_when[0].goal == "converted");
  REQUIRE(w.send_window);
  CHECK(w.send_window->from_minute == 9 * 60);
  CHECK(w.send_window->to_minute == 17 * 60);
  CHECK(w.send_window->days == DaySet{false, true, true, true, true, true, false});
  CHECK(w.send_window->fallback == "Europe/Berlin");
  std::vector<std::string_view> kinds;
  for (const auto& step : w.steps) kinds.push_back(step.kind());
  CHECK(kinds == std::vector<std::string_view>{"email", "wait_until", "wait_for", "branch", "split", "post", "score",
                                               "set", "webhook", "handoff", "email", "exit"});
  const auto& wait_for = std::get<WaitForStep>(w.steps[2].action);
  CHECK(wait_for.on_timeout == "last");
  CHECK(wait_for.timeout == std::chrono::hours(120));
  CHECK(std::get<ScoreStep>(w.steps[6].action).points == -3);
  CHECK(std::get<SplitStep>(w.steps[4].action).arms[0].weight == 70);
}

TEST_CASE("validation refuses unreachable steps and loops without a wait") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: a
    email: { template: welcome }
  - id: b
    email: { template: tips }
    goto: a
  - id: orphan
    wait: 1d
)");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find(":9:5: error: step \"orphan\" can never be reached (add a goto to it, or remove it)") !=
        std::string::npos);
  CHECK(text.find("error: the steps a -> b -> a form a loop with no wait in it (add a `wait` or `wait_for` inside "
                  "the loop)") != std::string::npos);
}

TEST_CASE("a loop through a wait is fine") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: a
    email: { template: welcome }
  - id: pause
    wait_for: { event: x, timeout: 1d }
    on_timeout: a
)");
  auto load = campaign.load();
  CHECK_MESSAGE(load.ok(), all_messages(load.diagnostics));
}

TEST_CASE("bad zones, regexes, weights, hours, operators and targets are each refused at their position") {
  CampaignDir campaign(R"(workflow: welcome
trigger:
  event: lead.created
  when: { attr.email: { matches: "([a-z" } }
send_window: { hours: "17:00-09:00", timezone: Europe/Berln }
steps:
  - id: ab
    split:
      - { weight: 0, goto: a }
      - { weight: 0, goto: b }
  - id: a
    branch:
      - if: { score: { greater: 5 } }
        goto: nowhere
  - id: b
    wait_for: { event: x }
)");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find(":4:34: error: \"([a-z\" is not a valid regular expression") != std::string::npos);
  CHECK(text.find(":5:23: error: hours \"17:00-09:00\" are not a range of the day") != std::string::npos);
  CHECK(text.find(":5:48: error: \"Europe/Berln\" is not an IANA time zone") != std::string::npos);
  CHECK(text.find(":9:7: error: the weights of a split add up to 0") != std::string::npos);
  CHECK(text.find(":13:24: error: unknown operator \"greater\" (one of: eq, ne, in, not_in, gt, gte, lt, lte, "
                  "contains, matches, exists)") != std::string::npos);
  CHECK(text.find(":14:15: error: goto target \"nowhere\" does not exist") != std::string::npos);
  CHECK(text.find(":16:15: error: `wait_for` needs a `timeout` (e.g. `timeout: 5d`)") != std::string::npos);
}

TEST_CASE("scoring.yaml loads rules, decay and ordered stages, and is checked like the rest") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - wait: 1d\n");
  write_file(campaign.dir / "scoring.yaml", R"yaml(rules:
  - { event: email.opened, points: 1 }
  - { event: page.viewed, where: { prop.path: { matches: "^/pricing" } }, points: 10 }
  - { attr: job_title, matches: "(?i)(director|vp)", points: 15 }
decay: { half_life: 30d }
stages:
  lead: { attr.email: { exists: true } }
  mql: { score: { gte: 50 } }
)yaml");
  auto load = campaign.load();
  REQUIRE_MESSAGE(load.ok(), all_messages(load.diagnostics));
  const Scoring& scoring = load.campaign.scoring;
  REQUIRE(scoring.rules.size() == 3);
  CHECK(scoring.rules[2].test->holds("VP Sales"));  // (?i): case-insensitive
  CHECK_FALSE(scoring.rules[2].test->holds("Engineer"));
  CHECK(scoring.half_life == std::chrono::hours(24 * 30));
  REQUIRE(scoring.stages.size() == 2);
  CHECK(scoring.stages[0].name == "lead");
  CHECK(scoring.stage_rank("mql") == 1u);

  write_file(campaign.dir / "scoring.yaml", "rules:\n  - { event: x, pionts: 1 }\n");
  auto bad = campaign.load();
  REQUIRE_FALSE(bad.ok());
  CHECK(all_messages(bad.diagnostics).find("scoring.yaml:2:17: error: unknown key \"pionts\" in rule 1 (did you "
                                           "mean \"points\"?)") != std::string::npos);
}

TEST_CASE("comparisons follow the condition language") {
  using Op = Comparison::Op;
  auto make = [](Op op, nlohmann::json value) { return Comparison{op, std::move(value), nullptr}; };
  CHECK(make(Op::eq, 5).holds(5.0));
  CHECK_FALSE(make(Op::eq, "5").holds(5));
  CHECK(make(Op::ne, "x").holds(nullptr));
  CHECK(make(Op::in, {"DE", "AT"}).holds("AT"));
  CHECK(make(Op::not_in, {"DE", "AT"}).holds("FR"));
  CHECK(make(Op::gte, 50).holds(50));
  CHECK_FALSE(make(Op::gt, 50).holds("60"));  // text and numbers do not compare
  CHECK(make(Op::lt, "2026-05-01").holds("2026-04-30"));
  CHECK(make(Op::contains, "corp").holds("acme corp"));
  CHECK(make(Op::contains, "vip").holds(nlohmann::json::array({"vip", "beta"})));
  CHECK(make(Op::exists, true).holds("x"));
  CHECK(make(Op::exists, false).holds(nullptr));
}

TEST_CASE("a marketing email without an unsubscribe link or postal address is refused, naming the layout") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - email: { template: welcome }
)");
  write_file(campaign.dir / "templates/welcome.mustache", "---\nsubject: Hi\nlayout: plain\n---\n<p>hi</p>\n");
  write_file(campaign.dir / "templates/layouts/plain.mustache", "<html><body>{{{content}}}</body></html>\n");
  auto load = campaign.load();
  CHECK_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find("templates/layouts/plain.mustache: error: a marketing email must contain {{unsubscribe_url}} "
                  "(add <a href=\"{{unsubscribe_url}}\">Unsubscribe</a> to the footer)") != std::string::npos);
  CHECK(text.find("templates/layouts/plain.mustache: error: a marketing email must contain "
                  "{{sender.postal_address}}") != std::string::npos);

  // The footer may live in a partial the layout includes.
  write_file(campaign.dir / "templates/layouts/plain.mustache", "<html><body>{{{content}}}\n{{> footer}}</body>\n");
  write_file(campaign.dir / "templates/partials/footer.mustache",
             "<p>{{sender.postal_address}} <a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>\n");
  auto fixed = campaign.load();
  CHECK_MESSAGE(fixed.ok(), all_messages(fixed.diagnostics));
}

TEST_CASE("template syntax errors, missing layouts and partials are found at validation with file:line") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - email: { template: welcome }
  - email: { template: tips }
)");
  write_file(campaign.dir / "templates/welcome.mustache",
             "---\nsubject: Hi\n---\n<p>hi</p>\n{{#lead.vip}}VIP\n{{sender.postal_address}} {{unsubscribe_url}}\n");
  write_file(campaign.dir / "templates/tips.mustache",
             "---\nsubject: Hi\nlayout: missing\n---\n{{> nowhere}}\n");
  auto load = campaign.load();
  CHECK_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find("templates/welcome.mustache:5:1: error: Mustache: section `lead.vip` is never closed") !=
        std::string::npos);
  CHECK(text.find("templates/tips.mustache: error: partial `nowhere` does not exist "
                  "(create templates/partials/nowhere.mustache)") != std::string::npos);
  CHECK(text.find("templates/tips.mustache: error: layout \"missing\" does not exist") != std::string::npos);
}

TEST_CASE("a campaign that sends email needs sender.postal_address") {
  CampaignDir campaign(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - email: { template: welcome }
)", R"(sender: { from: "Acme <hello@acme.example>" }
defaults: { email: outbox }
connectors: { outbox: { type: file, dir: ./outbox } }
)");
  auto load = campaign.load();
  CHECK_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("nurture.yaml: error: marketing email needs the sender's postal "
                                            "address (CAN-SPAM) (set `sender.postal_address` in nurture.yaml)") !=
        std::string::npos);
}

TEST_CASE("frequency_cap: max and per per channel, checked with positions") {
  CampaignDir good(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - email: { template: welcome }
)", std::string(config_yaml) + "frequency_cap:\n  email: { max: 3, per: 7d }\n  social: { max: 1, per: 1d }\n");
  auto load = good.load();
  REQUIRE_MESSAGE(load.ok(), all_messages(load.diagnostics));
  REQUIRE(load.campaign.config.frequency_caps.size() == 2);
  CHECK(load.campaign.config.frequency_caps.at("email").max == 3);
  CHECK(load.campaign.config.frequency_caps.at("email").per == std::chrono::hours(24 * 7));

  CampaignDir bad(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - email: { template: welcome }
)", std::string(config_yaml) + "frequency_cap:\n  email: { max: 0, per: soon }\n  sms: { max: 1, per: 1d }\n");
  const std::string text = all_messages(bad.load().diagnostics);
  CHECK(text.find("nurture.yaml:10:17: error: `frequency_cap.email`.max must be a whole number above 0") != std::string::npos);
  CHECK(text.find("nurture.yaml:10:25: error: `frequency_cap.email`.per \"soon\" is not a duration (e.g. 7d, 24h)") !=
        std::string::npos);
  CHECK(text.find("sms") != std::string::npos);
}

// Ordinary mistakes and hostile files once aborted `validate` and a running daemon's reload.
TEST_CASE("a workflow file that is not a workflow is an error at its position, not a crash") {
  CampaignDir campaign("name: draft\n");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("workflows/welcome.yaml:1:1: error: a workflow needs `workflow`") !=
        std::string::npos);
}

TEST_CASE("links under templates/ are not followed into loops, and a link to a device is no template") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - email: { template: welcome }\n");
  std::filesystem::create_symlink("loop-b", campaign.dir / "templates/loop-a");
  std::filesystem::create_symlink("loop-a", campaign.dir / "templates/loop-b");
  std::filesystem::create_directories(campaign.dir / "templates/sub");
  std::filesystem::create_symlink("..", campaign.dir / "templates/sub/up");
  CHECK(campaign.load().ok());
  std::filesystem::remove(campaign.dir / "templates/welcome.mustache");
  std::filesystem::create_symlink("/dev/zero", campaign.dir / "templates/welcome.mustache");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("not a regular file") != std::string::npos);
}

TEST_CASE("a template of one endless tag is read in linear time") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - email: { template: welcome }\n");
  write_file(campaign.dir / "templates/other.mustache", "{{" + std::string(1000000, ' ') + "lead.x");
  auto load = campaign.load();  // it overflowed the stack in a regex before
  CHECK(all_messages(load.diagnostics).find("lead.x is not an attribute") != std::string::npos);
}

TEST_CASE("YAML aliases cannot multiply a value past its bound (billion laughs)") {
  std::string yaml = "workflow: welcome\ntrigger: { event: lead.created, when: { attr.plan: { in: *l9 } } }\n";
  std::string anchors = "x:\n  - &l0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int level = 1; level <= 9; ++level) {  // 10^10 values in 11 lines
    std::vector<std::string> refs(10, fmt::format("*l{}", level - 1));
    anchors += fmt::format("  - &l{} [{}]\n", level, fmt::join(refs, ", "));
  }
  CampaignDir campaign(anchors + yaml + "steps:\n  - email: { template: welcome }\n");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("a value of more than 10000 items") != std::string::npos);
}

TEST_CASE("durations past a century are refused instead of wrapping around") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - wait: 9223372036854775807s\n"
                       "  - email: { template: welcome }\n");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("workflows/welcome.yaml:4:") != std::string::npos);
  CHECK(parse_duration("36525d"));
  CHECK_FALSE(parse_duration("36526d"));
  CHECK_FALSE(parse_duration("9223372036854775807s"));
}

TEST_CASE("YAML nested a hundred thousand deep is an error, not a stack overflow") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - wait: " +
                       std::string(100000, '[') + "\n");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("YAML nests too deep") != std::string::npos);
}

TEST_CASE("a regular expression that can take exponential time on a lead's value is refused at validation") {
  for (const std::string pattern : {"(a+)+$", "^(\\\\w+\\\\s?)*$", "(x*y)*z", "((ab)+c)+"}) {
    CAPTURE(pattern);
    CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created, when: { attr.name: { matches: \"" +
                         pattern + "\" } } }\nsteps:\n  - email: { template: welcome }\n");
    auto load = campaign.load();
    REQUIRE_FALSE(load.ok());
    CHECK(all_messages(load.diagnostics).find("repeats a group that itself repeats") != std::string::npos);
  }
  for (const std::string pattern : {"(?i)(director|vp)", "^/pricing", "[a-z]+@(acme|example)\\\\.com$", "(ab)+", "(a+)?"}) {
    CAPTURE(pattern);
    CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created, when: { attr.name: { matches: \"" +
                         pattern + "\" } } }\nsteps:\n  - email: { template: welcome }\n");
    CHECK(campaign.load().ok());
  }
}

TEST_CASE("ids and clock times are read without std::regex: a 60,000-character id is an error, not a crash") {
  CampaignDir campaign("workflow: " + std::string(60000, 'a') + "\ntrigger: { event: lead.created }\nsteps:\n"
                       "  - email: { template: welcome }\n");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  CHECK(all_messages(load.diagnostics).find("is not valid") != std::string::npos);
}

TEST_CASE("the sender's addresses are checked where they are configured, not at every send") {
  CampaignDir campaign("workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n  - email: { template: welcome }\n",
                       "sender:\n  from: \"Acme <hello@acme.example>\\r\\nBcc: x@evil.example\"\n"
                       "  reply_to: not-an-address\n  postal_address: \"1 Main St\"\n"
                       "defaults: { email: outbox }\nconnectors:\n  outbox: { type: file, dir: ./outbox }\n");
  auto load = campaign.load();
  REQUIRE_FALSE(load.ok());
  const std::string text = all_messages(load.diagnostics);
  CHECK(text.find("nurture.yaml:2:9: error: `sender.from`") != std::string::npos);
  CHECK(text.find("nurture.yaml:3:13: error: `sender.reply_to` \"not-an-address\" is not a mail address") !=
        std::string::npos);
}

TEST_CASE("a condition's `step:` names a step of its workflow, and `stage:` a stage the campaign sets") {
  CampaignDir typos(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: welcome
    email: { template: welcome }
  - set: { stage: mql }
  - id: check
    branch:
      - if: { event: email.opened, step: welcom }
        goto: tips
      - if: { stage: mlq }
        goto: tips
      - else: tips
  - id: tips
    email: { template: tips }
)");
  const auto load = typos.load();
  const std::string said = all_messages(load.diagnostics);
  INFO(said);
  CHECK_FALSE(load.ok());
  CHECK(said.find("workflows/welcome.yaml:9:42: error: step \"welcom\" is not a step of workflow \"welcome\" "
                  "(did you mean \"welcome\"?)") != std::string::npos);
  CHECK(said.find("workflows/welcome.yaml:11:22: error: stage \"mlq\" is never set: it is not a stage of "
                  "scoring.yaml or of a `set` step (did you mean \"mql\"?)") != std::string::npos);

  CampaignDir scored(R"(workflow: welcome
trigger: { event: lead.created, when: { not: { stage: customer } } }
steps:
  - id: welcome
    email: { template: welcome }
)");
  CHECK_FALSE(scored.load().ok());
  write_file(scored.dir / "scoring.yaml", "stages:\n  customer: { event: order.completed }\n");
  const auto fixed = scored.load();
  CHECK_MESSAGE(fixed.ok(), all_messages(fixed.diagnostics));
}
