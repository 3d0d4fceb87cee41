// The operator's commands against a real daemon and Redis: `workflow list|pause|resume` (and the admin API's),
// `lead remove`, `lead erase`, and the log lines a send leaves.

#include <signal.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/daemon_campaign.hpp"
#include "tests/support/process.hpp"

using namespace nurture::testing;

namespace {

// A drip of two emails 4 s apart through the file connector, with the admin API on.
struct OperatedCampaign {
  TempDir dir;
  fs::path campaign = dir / "campaign";
  int admin_port = free_tcp_port();
  std::string config = (campaign / "nurture.yaml").string();

  OperatedCampaign() {
    write_campaign(campaign, {fmt::format(R"(redis: auto
tracking: {{ listen: "127.0.0.1:0" }}
admin: {{ listen: "127.0.0.1:{}", token_env: NURTURE_TEST_ADMIN_TOKEN }}
partitions: 4
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
defaults: {{ email: outbox }}
connectors:
  outbox: {{ type: file, dir: ./outbox }}
)",
                                          admin_port),
                              {{"welcome", two_email_drip("4s")}},
                              {{"welcome", email_template("Hi", "<p>hi</p>")},
                               {"tips", email_template("Tips", "<p>tips</p>")}}});
  }

  std::unique_ptr<ChildProcess> start() {
    ::setenv("NURTURE_TEST_ADMIN_TOKEN", "adm-s3cret", 1);
    auto daemon = std::make_unique<ChildProcess>(std::vector<std::string>{NURTURE_BINARY, "run", campaign.string()},
                                                 dir / "daemon.log");
    ::unsetenv("NURTURE_TEST_ADMIN_TOKEN");
    wait_until_running(*daemon, dir / "daemon.log");
    return daemon;
  }

  // Runs `nurture ARGS --config ...`; returns its exit code, its output in `said`.
  int nurture(std::vector<std::string> args, std::string& said) {
    static int calls = 0;
    const fs::path log = dir / fmt::format("command-{}.log", ++calls);
    args.insert(args.begin(), NURTURE_BINARY);
    args.insert(args.end(), {"--config", config});
    const int code = run_command(args, log, campaign);
    said = read_file(log);
    return code;
  }

  std::string socket_url() const { return "unix://" + (campaign / ".nurture/redis.sock").string(); }

  std::size_t delivered() const { return files_in(campaign / "outbox", ".eml"); }
  std::size_t wait_delivered(std::size_t count, seconds timeout) const {
    return wait_for_files(campaign / "outbox", ".eml", count, timeout);
  }
};

}  // namespace

TEST_CASE("pause holds a workflow's timers and enrolls no one, remove takes a lead out, resume sends what waited") {
  OperatedCampaign c;
  auto daemon = c.start();
  std::string said;
  DaemonCampaign::emit_leads(c.socket_url(), 0, 3);  // L0, L1, L2
  REQUIRE_MESSAGE(c.wait_delivered(3, seconds(20)) == 3, read_file(c.dir / "daemon.log"));

  REQUIRE(c.nurture({"workflow", "pause", "welcome"}, said) == 0);
  CHECK(said.find("paused welcome") != std::string::npos);
  REQUIRE(c.nurture({"workflow", "list"}, said) == 0);
  CHECK(said.find("welcome                  paused") != std::string::npos);
  CHECK(c.nurture({"workflow", "pause", "nosuch"}, said) == 1);
  CHECK(said.find("no workflow \"nosuch\"") != std::string::npos);
  std::this_thread::sleep_for(milliseconds(500));    // the daemon reads pauses every quarter second
  DaemonCampaign::emit_leads(c.socket_url(), 3, 1);  // L3 arrives while paused: not enrolled
  std::this_thread::sleep_for(seconds(6));           // the tips timers (4 s) fall due and wait
  CHECK(c.delivered() == 3);

  REQUIRE(c.nurture({"lead", "list", "--workflow", "welcome"}, said) == 0);
  CHECK(said.find("3 lead(s) match") != std::string::npos);
  REQUIRE(c.nurture({"lead", "remove", "L2", "--workflow", "welcome"}, said) == 0);
  CHECK(said.find("removed L2 from welcome") != std::string::npos);
  CHECK(c.nurture({"lead", "remove", "L2", "--workflow", "welcome"}, said) == 1);
  CHECK(said.find("is not active in workflow \"welcome\"") != std::string::npos);

  REQUIRE(c.nurture({"workflow", "resume", "welcome"}, said) == 0);
  CHECK(said.find("resumed welcome: 3 timer(s)") != std::string::npos);  // L2's goes off as a no-op
  CHECK(c.wait_delivered(5, seconds(20)) == 5);                            // L0's and L1's tips
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(c.delivered() == 5);
  REQUIRE(c.nurture({"report", "--format", "json"}, said) == 0);
  INFO(said);
  const auto report = nlohmann::json::parse(said.substr(said.find('{')))["workflows"][0];
  CHECK(report["entered"] == 3);
  CHECK(report["exited"] == 1);
  const std::string log = read_file(c.dir / "daemon.log");
  CHECK(log.find("sent action=") != std::string::npos);
  CHECK(log.find("to=l***@example.com") != std::string::npos);
  CHECK(log.find("l0@example.com") == std::string::npos);  // no full address in the log
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("erase deletes everything about a lead and keeps its address only as a hash that still suppresses") {
  OperatedCampaign c;
  auto daemon = c.start();
  std::string said;
  DaemonCampaign::emit_leads(c.socket_url(), 0, 2);
  REQUIRE(c.wait_delivered(2, seconds(20)) == 2);
  REQUIRE(c.nurture({"lead", "erase", "L0"}, said) == 0);
  CHECK(said.find("erased lead L0") != std::string::npos);
  CHECK(said.find("state and history: removed") != std::string::npos);
  CHECK(said.find("timers: 1") != std::string::npos);
  CHECK(said.find("kept only as sha256:") != std::string::npos);
  CHECK(c.nurture({"lead", "show", "L0"}, said) == 1);
  REQUIRE(c.nurture({"suppress", "list"}, said) == 0);
  CHECK(said.find("sha256:") != std::string::npos);
  CHECK(said.find("l0@example.com") == std::string::npos);
  REQUIRE(c.nurture({"lead", "erase", "L0"}, said) == 0);
  CHECK(said.find("nothing is stored about lead L0") != std::string::npos);

  // The same person signs up again: a new lead, but the address is recognised and not mailed unknowingly.
  DaemonCampaign::emit_leads(c.socket_url(), 0, 1);
  std::this_thread::sleep_for(seconds(6));  // L0's welcome would be due now, and L1's tips
  CHECK(c.wait_delivered(3, seconds(20)) == 3);
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(c.delivered() == 3);  // L0 then L1 welcome, L1's tips: nothing more to L0's address
  CHECK(read_file(c.dir / "daemon.log").find("skipped action=") != std::string::npos);
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("the admin API lists, pauses and resumes workflows") {
  OperatedCampaign c;
  auto daemon = c.start();
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer adm-s3cret"}};
  auto listed = http_request(c.admin_port, "GET", "/workflows", "", auth);
  REQUIRE(listed.status == 200);
  CHECK(nlohmann::json::parse(listed.body)["workflows"][0]["state"] == "running");
  CHECK(http_request(c.admin_port, "POST", "/workflows/welcome/pause", "").status == 401);
  CHECK(http_request(c.admin_port, "POST", "/workflows/nosuch/pause", "", auth).status == 404);
  auto paused = http_request(c.admin_port, "POST", "/workflows/welcome/pause", "", auth);
  REQUIRE(paused.status == 200);
  CHECK(nlohmann::json::parse(paused.body)["state"] == "paused");
  std::this_thread::sleep_for(milliseconds(500));
  DaemonCampaign::emit_leads(c.socket_url(), 0, 1);
  std::this_thread::sleep_for(seconds(1));
  CHECK(c.delivered() == 0);
  auto resumed = http_request(c.admin_port, "POST", "/workflows/welcome/resume", "", auth);
  REQUIRE(resumed.status == 200);
  CHECK(nlohmann::json::parse(resumed.body)["state"] == "running");
  std::this_thread::sleep_for(milliseconds(500));  // as with a pause, the daemon sees it within a quarter second
  DaemonCampaign::emit_leads(c.socket_url(), 1, 1);
  CHECK_MESSAGE(c.wait_delivered(1, seconds(20)) == 1, read_file(c.dir / "daemon.log"));  // L1; L0 never was
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(c.delivered() == 1);
  CHECK(daemon->stop(SIGTERM) == 0);
}
