// `nurture report --html` from a real daemon's store, opened in headless Chromium (Debian's `chromium`): the page
// loads without a console message (an invalid SVG attribute or a blocked external asset would log one), the
// browser's DOM carries the numbers the store holds, and the screenshot shows the charts' colours.

#include <signal.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_campaign.hpp"
#include "tests/support/process.hpp"

using namespace nurture::testing;

namespace {

const char* launch = R"(workflow: launch
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

std::vector<std::string> chromium(const fs::path& page, std::vector<std::string> args) {
  // No sandbox: the page is our own file, and tests may run as root in containers (with a small /dev/shm).
  std::vector<std::string> argv{"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                "--hide-scrollbars", "--enable-logging=stderr", "--v=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("file://" + page.string());
  return argv;
}

void add_events(const std::string& url, const std::vector<std::vector<std::string>>& events) {
  auto connection = nurture::engine::redis::RedisConnection::open(url);
  REQUIRE(connection);
  std::vector<nurture::engine::redis::Command> commands;
  for (const auto& fields : events) {
    nurture::engine::redis::Command add{"XADD", "nurture:events", "*"};
    add.insert(add.end(), fields.begin(), fields.end());
    commands.push_back(std::move(add));
  }
  for (const auto& reply : (*connection)->pipeline(commands)) REQUIRE_FALSE(reply.is_error());
}

}  // namespace

TEST_CASE("the HTML report in headless Chromium: no console message, the store's numbers, the charts drawn") {
  TempDir dir;
  const fs::path campaign = dir / "campaign";
  write_campaign(campaign, {R"(redis: auto
tracking: { listen: "127.0.0.1:0" }
sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
connectors:
  outbox: { type: file, dir: ./outbox }
)",
                            {{"launch", launch}},
                            {{"a", email_template("Launch A", "<p>a</p>")}, {"b", email_template("Launch B", "<p>b</p>")}}});
  ChildProcess daemon({NURTURE_BINARY, "run", campaign.string()}, dir / "daemon.log");
  const std::string url = "unix://" + (campaign / ".nurture/redis.sock").string();
  wait_until_running(daemon, dir / "daemon.log");

  constexpr int leads = 40;
  std::vector<std::vector<std::string>> created;
  for (int i = 0; i < leads; ++i) {
    created.push_back({"type", "lead.created", "lead", fmt::format("L{}", i), "attrs",
                       fmt::format(R"({{"email":"l{}@example.com"}})", i)});
  }
  add_events(url, created);
  REQUIRE_MESSAGE(wait_for_files(campaign / "outbox", ".eml", leads, seconds(30)) == leads,
                  read_file(dir / "daemon.log"));

  // Which arm each lead took, from the file its email was written to; every A lead opens, clicks and books a demo,
  // half of the B leads open.
  std::vector<std::vector<std::string>> reactions;
  int arm_a = 0, arm_b = 0;
  for (int i = 0; i < leads; ++i) {
    const std::string lead = fmt::format("L{}", i);
    const bool a = fs::exists(campaign / "outbox" /
                              (nurture::engine::action_id(lead, "launch", 1, 1, "subject_a", 1) + ".eml"));
    const std::string props = fmt::format(R"({{"workflow":"launch","step":"{}"}})", a ? "subject_a" : "subject_b");
    if (a || (arm_b % 2 == 0)) reactions.push_back({"type", "email.opened", "lead", lead, "props", props});
    if (a) {
      reactions.push_back({"type", "email.clicked", "lead", lead, "props", props});
      reactions.push_back({"type", "demo.booked", "lead", lead});
    }
    (a ? arm_a : arm_b) += 1;
  }
  REQUIRE(arm_a >= 5);
  REQUIRE(arm_b >= 5);
  add_events(url, reactions);

  const std::string config = (campaign / "nurture.yaml").string();
  nlohmann::json report;
  const auto counted_deadline = steady_clock::now() + seconds(20);
  do {
    std::this_thread::sleep_for(milliseconds(100));
    REQUIRE(run_command({NURTURE_BINARY, "report", "--format", "json", "--config", config}, dir / "report.json",
                        campaign) == 0);
    const std::string text = read_file(dir / "report.json");
    fs::remove(dir / "report.json");
    report = nlohmann::json::parse(text.substr(text.find('{')))["workflows"][0];
  } while (report["goals"].value("demo", 0) < arm_a && steady_clock::now() < counted_deadline);
  REQUIRE(report["goals"]["demo"] == arm_a);
  const auto& split = report["splits"][0];
  CHECK(split["arms"][0]["entered"] == arm_a);
  CHECK(split["arms"][0]["sent"] == arm_a);
  CHECK(split["arms"][0]["clicked"] == arm_a);
  CHECK(split["arms"][1]["goals"] == 0);
  CHECK(split["winner"] == "subject_a");

  const fs::path page = dir / "report.html";
  REQUIRE(run_command({NURTURE_BINARY, "report", "--html", page.string(), "--config", config}, dir / "html.log",
                      campaign) == 0);
  REQUIRE(run_command(chromium(page, {"--window-size=1000,2600", "--screenshot=" + (dir / "shot.png").string()}),
                      dir / "chromium.log", dir.path()) == 0);
  const std::string console = read_file(dir / "chromium.log");
  CHECK_MESSAGE(console.find(":CONSOLE") == std::string::npos, console);

  REQUIRE(run_command(chromium(page, {"--dump-dom"}), dir / "dom.html", dir.path()) == 0);
  const std::string dom = read_file(dir / "dom.html");
  CHECK(dom.find(fmt::format(">{} of {} = 100.0%</text>", arm_a, arm_a)) != std::string::npos);
  CHECK(dom.find(fmt::format(">0 of {} = 0.0%</text>", arm_b)) != std::string::npos);
  CHECK(dom.find("winner subject_a (p = ") != std::string::npos);
  CHECK(dom.find(fmt::format(">{} (100.0%)</text>", leads)) != std::string::npos);  // all reached the split
  CHECK(dom.find(fmt::format(": {}</title>", leads)) != std::string::npos);          // today's sends, one column
  CHECK(dom.find(fmt::format("<b>{}</b><span>entered</span>", leads)) != std::string::npos);

  REQUIRE(run_command({"/usr/bin/python3", std::string(NURTURE_TEST_SUPPORT_DIR) + "/png_colors.py",
                       (dir / "shot.png").string(), "#2563eb", "#16a34a"},
                      dir / "colors.json", dir.path()) == 0);
  const auto colors = nlohmann::json::parse(read_file(dir / "colors.json"));
  CHECK(colors["counts"]["#2563eb"] > 2000);  // blue bars
  CHECK(colors["counts"]["#16a34a"] > 500);   // the goal and the winning arm in green
  CHECK(daemon.stop(SIGTERM) == 0);
}
