#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"
#include "workflows/campaign.hpp"

using namespace nurture::workflows;
using nurture::testing::TempDir;
using nurture::testing::write_file;

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
    write_file(dir / "templates/welcome.mustache", "---\nsubject: Hi\n---\n<p>hi</p>\n");
    write_file(dir / "templates/tips.mustache", "---\nsubject: Tips\n---\n<p>tips</p>\n");
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

TEST_CASE("the example campaign is valid") {
  auto load = load_campaign(std::string(NURTURE_SOURCE_DIR) + "/examples/welcome");
  CHECK_MESSAGE(load.ok(), all_messages(load.diagnostics));
  CHECK(load.campaign.workflows.size() == 1);
}
