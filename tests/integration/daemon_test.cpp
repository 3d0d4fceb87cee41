// The daemon as ops run it: the `nurture` binary in its own process with its private redis-server, real seconds,
// signals. Kept short: the workflow waits 2 s.

#include <signal.h>

#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <doctest/doctest.h>

#include "engine/store/redis/redis_connection.hpp"
#include "engine/core/identity.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::testing;
using namespace std::chrono;

namespace {

struct DaemonWorld {
  TempDir dir;
  SmtpSink smtp{dir / "mail"};
  std::filesystem::path campaign = dir / "campaign";

  DaemonWorld() {
    write_campaign(campaign, {fmt::format(R"(redis: auto
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
defaults: {{ email: smtp_main }}
connectors:
  smtp_main: {{ type: smtp, url: "{}" }}
)",
                                          smtp.url()),
                              {{"welcome", two_email_drip("2s")}},
                              {{"welcome", email_template("Welcome, {{lead.first_name}}", "<p>hi</p>")},
                               {"tips", email_template("Tips, {{lead.first_name}}", "<p>tips</p>")}}});
  }

  std::unique_ptr<ChildProcess> start_daemon() {
    auto daemon = std::make_unique<ChildProcess>(std::vector<std::string>{NURTURE_BINARY, "run", campaign.string()},
                                                 dir / "daemon.log");
    const auto deadline = steady_clock::now() + seconds(20);
    while (read_file(dir / "daemon.log").find("nurture running") == std::string::npos) {
      REQUIRE_MESSAGE(daemon->running(), read_file(dir / "daemon.log"));
      REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(dir / "daemon.log"));
      std::this_thread::sleep_for(milliseconds(20));
    }
    return daemon;
  }

  int emit(const std::vector<std::string>& args) {
    std::vector<std::string> argv{NURTURE_BINARY, "emit"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, dir / "emit.log", campaign);
  }
};

}  // namespace

TEST_CASE("the daemon sends on emit, stops cleanly on SIGTERM, and resumes the wait after a restart") {
  DaemonWorld w;
  auto daemon = w.start_daemon();
  REQUIRE(w.emit({"lead.created", "--lead", "L1", "--attr", "email=ana@example.com", "--attr", "first_name=Ana"}) ==
          0);
  auto mails = w.smtp.wait_for(1, seconds(10));
  REQUIRE_MESSAGE(mails.size() == 1, read_file(w.dir / "daemon.log"));
  CHECK(header(mails[0].raw, "Subject") == "Welcome, Ana");
  const auto first_at = steady_clock::now();

  CHECK(daemon->stop(SIGTERM) == 0);
  // The private Redis went down with the daemon: emitting now says how to fix it.
  CHECK(w.emit({"lead.created", "--lead", "L2"}) == 3);
  CHECK(read_file(w.dir / "emit.log").find("start `nurture run") != std::string::npos);

  daemon = w.start_daemon();
  mails = w.smtp.wait_for(2, seconds(15));
  REQUIRE_MESSAGE(mails.size() == 2, read_file(w.dir / "daemon.log"));
  CHECK(header(mails[1].raw, "Subject") == "Tips, Ana");
  CHECK(steady_clock::now() - first_at >= milliseconds(1900));  // not before the wait was over

  std::this_thread::sleep_for(milliseconds(500));  // give a duplicate every chance to show up
  CHECK(w.smtp.messages().size() == 2);

  // Nothing in this campaign looks at email.sent: the engine raised none (its inboxes stayed empty).
  {
    auto redis = nurture::engine::redis::RedisConnection::open("unix://" + (w.campaign / ".nurture/redis.sock").string());
    REQUIRE(redis);
    long raised = 0;
    for (int p = 0; p < 16; ++p) raised += (*redis)->command({"XLEN", fmt::format("nurture:{{{}}}:inbox", p)}).integer;
    CHECK(raised == 0);
  }

  // One lead as `nurture lead show` sees it.
  REQUIRE(run_command({NURTURE_BINARY, "lead", "show", "L1", "--json"}, w.dir / "lead.json", w.campaign) == 0);
  const auto lead = nlohmann::json::parse(read_file(w.dir / "lead.json"));
  CHECK(lead["attrs"]["first_name"] == "Ana");
  REQUIRE(lead["enrollments"].size() == 1);
  CHECK(lead["enrollments"][0]["workflow"] == "welcome");
  CHECK(lead["enrollments"][0]["status"] == "completed");
  CHECK(lead["enrollments"][0]["step"] == "tips");
  CHECK(run_command({NURTURE_BINARY, "lead", "show", "nobody"}, w.dir / "nobody.txt", w.campaign) == 1);
  {
    // Bytes that are not UTF-8 in a stored lead (an old version's data, a hand edit) are shown, repaired.
    auto redis = nurture::engine::redis::RedisConnection::open("unix://" + (w.campaign / ".nurture/redis.sock").string());
    REQUIRE(redis);
    (*redis)->command({"HSET", fmt::format("nurture:{{{}}}:lead:L1", nurture::engine::partition_of("L1", 16)),
                       "a:nickname", "\"J\xfcrgen\""});
  }
  REQUIRE(run_command({NURTURE_BINARY, "lead", "show", "L1", "--json"}, w.dir / "latin1.json", w.campaign) == 0);
  CHECK(nlohmann::json::parse(read_file(w.dir / "latin1.json"))["attrs"]["nickname"] == "J\xef\xbf\xbdrgen");
  CHECK(run_command({NURTURE_BINARY, "lead", "show", "L1"}, w.dir / "latin1.txt", w.campaign) == 0);

  // The funnel, as `nurture report` prints it (its JSON shape).
  REQUIRE(run_command({NURTURE_BINARY, "report", "--format", "json", "--html", (w.dir / "report.html").string()},
                      w.dir / "report.json", w.campaign) == 0);
  const std::string html = read_file(w.dir / "report.html");
  CHECK(html.rfind("<!doctype html>", 0) == 0);
  CHECK(html.find("<tr><td>hello</td><td>email</td><td>1</td><td>1</td>") != std::string::npos);
  const auto report = nlohmann::json::parse(read_file(w.dir / "report.json"));
  const auto& welcome = report["workflows"][0];
  CHECK(welcome["workflow"] == "welcome");
  CHECK(welcome["entered"] == 1);
  CHECK(welcome["completed"] == 1);
  CHECK(welcome["active"] == 0);
  REQUIRE(welcome["steps"].size() == 3);
  CHECK(welcome["steps"][0] == nlohmann::json{{"step", "hello"}, {"action", "email"}, {"reached", 1}, {"sent", 1},
                                              {"failed", 0}, {"skipped", 0}, {"opened", 0}, {"clicked", 0}});
  CHECK(welcome["steps"][1]["action"] == "wait");
  CHECK(welcome["steps"][1]["reached"] == 1);
  CHECK(welcome["steps"][2]["sent"] == 1);
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("a daemon killed with SIGKILL loses nothing: the wait and the second email survive") {
  DaemonWorld w;
  auto daemon = w.start_daemon();
  REQUIRE(w.emit({"lead.created", "--lead", "L1", "--attr", "email=ana@example.com", "--attr", "first_name=Ana"}) ==
          0);
  REQUIRE(w.smtp.wait_for(1, seconds(10)).size() == 1);
  // AOF is fsynced every second: let the commit reach the disk, then pull the plug.
  std::this_thread::sleep_for(milliseconds(1200));
  CHECK(daemon->stop(SIGKILL) == 128 + SIGKILL);

  daemon = w.start_daemon();
  auto mails = w.smtp.wait_for(2, seconds(15));
  REQUIRE_MESSAGE(mails.size() == 2, read_file(w.dir / "daemon.log"));
  CHECK(header(mails[1].raw, "Subject") == "Tips, Ana");
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(w.smtp.messages().size() == 2);
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("validate exits 0 for a valid campaign and 1 with file:line:col errors for an invalid one") {
  DaemonWorld w;
  CHECK(run_command({NURTURE_BINARY, "validate", w.campaign.string()}, w.dir / "validate.log") == 0);
  write_file(w.campaign / "workflows/broken.yaml", "workflow: broken\ntrigger: { event: x }\nsteps:\n  - wiat: 1d\n");
  CHECK(run_command({NURTURE_BINARY, "validate", w.campaign.string()}, w.dir / "validate2.log") == 1);
  CHECK(read_file(w.dir / "validate2.log").find("workflows/broken.yaml:4:5: error: unknown key \"wiat\" in step 1 "
                                                "(did you mean \"wait\"?)") != std::string::npos);
  CHECK(run_command({NURTURE_BINARY, "frobnicate"}, w.dir / "usage.log") == 2);
}

TEST_CASE("SIGHUP reloads a changed campaign: new leads get the new version, waiting ones move by step id") {
  DaemonWorld w;
  write_file(w.campaign / "workflows/welcome.yaml", R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - id: pause
    wait: 2s
  - id: tips
    email: { template: tips }
)");
  auto daemon = w.start_daemon();
  REQUIRE(w.emit({"lead.created", "--lead", "L1", "--attr", "email=one@example.com", "--attr", "first_name=One"}) == 0);
  REQUIRE(w.smtp.wait_for(1, seconds(10)).size() == 1);

  // A broken edit is refused and the daemon goes on with what it had.
  write_file(w.campaign / "workflows/welcome.yaml", "workflow: welcome\ntrigger: { event: lead.created }\nsteps: [\n");
  ::kill(daemon->pid(), SIGHUP);
  std::this_thread::sleep_for(milliseconds(300));
  CHECK(read_file(w.dir / "daemon.log").find("reload refused") != std::string::npos);
  // So are the edits that once stopped the daemon at the reload: a file that is no workflow, a link loop.
  write_file(w.campaign / "workflows/draft.yaml", "name: draft\n");
  std::filesystem::create_symlink("loop-b", w.campaign / "templates/loop-a");
  std::filesystem::create_symlink("loop-a", w.campaign / "templates/loop-b");
  ::kill(daemon->pid(), SIGHUP);
  std::this_thread::sleep_for(milliseconds(300));
  REQUIRE_MESSAGE(daemon->running(), read_file(w.dir / "daemon.log"));
  std::filesystem::remove(w.campaign / "workflows/draft.yaml");

  // Version 2: a new last step. L1 waits at `pause`, which version 2 still has: it moves there.
  write_file(w.campaign / "templates/offer.mustache", email_template("Offer, {{lead.first_name}}", "<p>offer</p>"));
  write_file(w.campaign / "workflows/welcome.yaml", R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - id: pause
    wait: 2s
  - id: offer
    email: { template: offer }
)");
  ::kill(daemon->pid(), SIGHUP);
  const auto deadline = steady_clock::now() + seconds(5);
  while (read_file(w.dir / "daemon.log").find("now at version 2") == std::string::npos && steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  REQUIRE_MESSAGE(read_file(w.dir / "daemon.log").find("workflow welcome now at version 2") != std::string::npos,
                  read_file(w.dir / "daemon.log"));
  REQUIRE(w.emit({"lead.created", "--lead", "L2", "--attr", "email=two@example.com", "--attr", "first_name=Two"}) == 0);
  auto mails = w.smtp.wait_for(4, seconds(15));
  REQUIRE_MESSAGE(mails.size() == 4, read_file(w.dir / "daemon.log"));
  std::multiset<std::string> subjects;
  for (const auto& mail : mails) subjects.insert(header(mail.raw, "Subject"));
  CHECK(subjects == std::multiset<std::string>{"Welcome, One", "Offer, One", "Welcome, Two", "Offer, Two"});
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("nurture import upserts leads from a CSV file as lead.imported events") {
  DaemonWorld w;
  auto daemon = w.start_daemon();
  write_file(w.dir / "leads.csv", "email,first_name,company,id\nana@example.com,Ana,\"Acme, Inc.\",L1\nbo@example.com,Bo,,L2\n");
  REQUIRE(run_command({NURTURE_BINARY, "import", (w.dir / "leads.csv").string(), "--id-column", "id"},
                      w.dir / "import.log", w.campaign) == 0);
  CHECK(read_file(w.dir / "import.log").find("2 lead(s) imported") != std::string::npos);
  nlohmann::json lead;
  const auto deadline = steady_clock::now() + seconds(10);
  do {
    std::this_thread::sleep_for(milliseconds(50));
    if (run_command({NURTURE_BINARY, "lead", "show", "L1", "--json"}, w.dir / "l1.json", w.campaign) == 0) {
      lead = nlohmann::json::parse(read_file(w.dir / "l1.json"));
    }
  } while (lead.is_null() && steady_clock::now() < deadline);
  REQUIRE_FALSE(lead.is_null());
  CHECK(lead["attrs"] == nlohmann::json{{"email", "ana@example.com"}, {"first_name", "Ana"}, {"company", "Acme, Inc."}});
  // A spreadsheet's export: a byte order mark is fine; Latin-1 is refused with the line, before anything is added.
  write_file(w.dir / "bom.csv", "\xef\xbb\xbfid,email\nL7,seven@example.com\n");
  CHECK(run_command({NURTURE_BINARY, "import", (w.dir / "bom.csv").string()}, w.dir / "bom.log", w.campaign) == 0);
  write_file(w.dir / "latin1.csv", "id,first_name\nL8,J\xfcrgen\n");
  CHECK(run_command({NURTURE_BINARY, "import", (w.dir / "latin1.csv").string()}, w.dir / "latin1.log", w.campaign) ==
        1);
  CHECK(read_file(w.dir / "latin1.log").find("latin1.csv:2: error: the file is not UTF-8 text") != std::string::npos);
  CHECK(run_command({NURTURE_BINARY, "emit", "lead.updated", "--lead", "L8", "--attr", "first_name=J\xfcrgen"},
                    w.dir / "emit.log", w.campaign) == 2);
  CHECK(read_file(w.dir / "emit.log").find("--attr first_name: not UTF-8 text") != std::string::npos);
  write_file(w.dir / "bad.csv", "email,id\nx@example.com\n");
  CHECK(run_command({NURTURE_BINARY, "import", (w.dir / "bad.csv").string()}, w.dir / "bad.log", w.campaign) == 1);
  CHECK(read_file(w.dir / "bad.log").find("bad.csv:2: error: 1 fields, the header has 2") != std::string::npos);
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("the admin API: bearer token, events in, a lead out, reload") {
  TempDir dir;
  SmtpSink smtp(dir / "mail");
  const int admin_port = free_tcp_port();
  const std::filesystem::path campaign = dir / "campaign";
  write_campaign(campaign, {fmt::format(R"(redis: auto
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
tracking: {{ listen: "127.0.0.1:0" }}
admin: {{ listen: "127.0.0.1:{}", token_env: NURTURE_TEST_ADMIN_TOKEN }}
defaults: {{ email: smtp_main }}
connectors:
  smtp_main: {{ type: smtp, url: "{}" }}
)",
                                        admin_port, smtp.url()),
                            {{"welcome", two_email_drip("1h")}},
                            {{"welcome", email_template("Welcome, {{lead.first_name}}", "<p>hi</p>")},
                             {"tips", email_template("Tips", "<p>tips</p>")}}});
  ::setenv("NURTURE_TEST_ADMIN_TOKEN", "adm-s3cret", 1);
  ChildProcess daemon({NURTURE_BINARY, "run", campaign.string()}, dir / "daemon.log");
  ::unsetenv("NURTURE_TEST_ADMIN_TOKEN");
  const auto deadline = steady_clock::now() + seconds(20);
  while (read_file(dir / "daemon.log").find("nurture running") == std::string::npos) {
    REQUIRE_MESSAGE(daemon.running(), read_file(dir / "daemon.log"));
    REQUIRE(steady_clock::now() < deadline);
    std::this_thread::sleep_for(milliseconds(20));
  }
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer adm-s3cret"}};
  const std::string event = R"({"type":"lead.created","lead":"L1","attrs":{"email":"ana@example.com","first_name":"Ana"}})";

  CHECK(http_request(admin_port, "POST", "/events", event).status == 401);
  CHECK(http_request(admin_port, "POST", "/events", event, {{"Authorization", "Bearer wrong-token"}}).status == 401);
  const std::string deep = R"({"type":"x","lead":"L1","attrs":{"a":)" + std::string(30000, '[') + "}}";
  auto refused = http_request(admin_port, "POST", "/events", deep, auth);  // it once overflowed the daemon's stack
  CHECK(refused.status == 400);
  CHECK(refused.body.find("nests deeper than") != std::string::npos);
  CHECK(http_request(admin_port, "GET", "/leads/nobody", "", {{"Authorization", "bearer adm-s3cret"}}).status == 404);
  auto bad = http_request(admin_port, "POST", "/events", R"({"type":"Lead Created","lead":"L1"})", auth);
  CHECK(bad.status == 400);
  CHECK(bad.body.find("must match") != std::string::npos);
  CHECK(http_request(admin_port, "POST", "/events", event, auth).status == 202);
  REQUIRE_MESSAGE(smtp.wait_for(1, seconds(10)).size() == 1, read_file(dir / "daemon.log"));

  auto lead = http_request(admin_port, "GET", "/leads/L1", "", auth);
  REQUIRE(lead.status == 200);
  const auto profile = nlohmann::json::parse(lead.body);
  CHECK(profile["attrs"]["first_name"] == "Ana");
  CHECK(profile["enrollments"][0]["workflow"] == "welcome");
  CHECK(profile["enrollments"][0]["status"] == "waiting");
  CHECK(http_request(admin_port, "GET", "/leads/nobody", "", auth).status == 404);

  // A reload answers with its outcome: the versions now running, or the errors that refused it.
  const auto applied = http_request(admin_port, "POST", "/reload", "", auth);
  CHECK(applied.status == 200);
  CHECK(nlohmann::json::parse(applied.body) == nlohmann::json::parse(R"({"reload":"applied","versions":{"welcome":1}})"));
  CHECK(read_file(dir / "daemon.log").find("workflow welcome now at version 1") != std::string::npos);
  write_file(campaign / "workflows/broken.yaml", "workflow: broken\ntrigger: { event: x }\nsteps:\n  - id: a\n    goto: b\n");
  const auto not_reloaded = http_request(admin_port, "POST", "/reload", "", auth);
  CHECK(not_reloaded.status == 422);
  const auto reasons = nlohmann::json::parse(not_reloaded.body);
  CHECK(reasons["reload"] == "refused");
  REQUIRE(reasons["errors"].size() >= 1);
  CHECK(reasons["errors"][0].get<std::string>().rfind("workflows/broken.yaml:", 0) == 0);
  CHECK(daemon.stop(SIGTERM) == 0);
}

TEST_CASE("log: { format: json } makes every line of the daemon's log a JSON object, and the start says what runs") {
  TempDir dir;
  const std::filesystem::path campaign = dir / "campaign";
  write_campaign(campaign, {R"(redis: auto
log: { format: json, level: info }
tracking: { listen: "127.0.0.1:0" }
sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
connectors:
  outbox: { type: file, dir: ./outbox }
)",
                            {{"welcome", two_email_drip("1h")}},
                            {{"welcome", email_template("Hi", "<p>hi</p>")}, {"tips", email_template("Tips", "<p>t</p>")}}});
  ChildProcess daemon({NURTURE_BINARY, "run", campaign.string()}, dir / "daemon.log");
  const auto deadline = steady_clock::now() + seconds(20);
  while (read_file(dir / "daemon.log").find("nurture running") == std::string::npos) {
    REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(dir / "daemon.log"));
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::this_thread::sleep_for(milliseconds(200));
  CHECK(daemon.stop(SIGTERM) == 0);
  std::istringstream lines(read_file(dir / "daemon.log"));
  std::string line;
  int parsed = 0;
  std::string messages;
  while (std::getline(lines, line)) {
    const auto object = nlohmann::json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(object.is_object(), line);
    CHECK(object["level"].is_string());
    CHECK(object["time"].get<std::string>().back() == 'Z');
    messages += object["message"].get<std::string>() + "\n";
    ++parsed;
  }
  CHECK(parsed >= 4);
  CHECK(messages.find("workflows: welcome v1\n") != std::string::npos);
  CHECK(messages.find("connectors: outbox (file)\n") != std::string::npos);
  CHECK(messages.find("stopping: in-flight work finished") != std::string::npos);
}
