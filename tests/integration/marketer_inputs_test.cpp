// What a marketer types and reads, against a real daemon and its Redis: attributes typed alike by `import`, `emit`
// and the admin API; `validate` on a machine without the production secrets; scores that never round up past a
// threshold; `report`, `lead show` and `preview --lead-id` while the daemon is stopped.
#include <doctest/doctest.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "tests/support/daemon_campaign.hpp"

using namespace nurture::testing;

namespace {

struct MarketerCampaign {
  TempDir dir;
  fs::path campaign = dir / "campaign";
  int admin_port = free_tcp_port();
  int starts = 0;

  MarketerCampaign() {
    write_campaign(campaign, {fmt::format(R"(redis: auto
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
tracking: {{ listen: "127.0.0.1:0" }}
admin: {{ listen: "127.0.0.1:{}", token_env: NURTURE_TEST_ADMIN_TOKEN }}
defaults: {{ email: outbox }}
attributes: {{ seats: number, zip: string, trial_ends: date }}
connectors:
  outbox: {{ type: file, dir: ./outbox }}
)",
                                          admin_port),
                              {{"welcome", "workflow: welcome\ntrigger: { event: lead.created, when: { attr.seats: { gt: 50 } } }\n"
                                           "steps:\n  - email: { template: welcome }\n"},
                               {"nudge", "workflow: nudge\ntrigger: { event: demo.requested }\n"
                                         "steps:\n  - id: pause\n    wait: 3d\n  - email: { template: welcome }\n"}},
                              {{"welcome", email_template("Welcome, {{lead.first_name}}", "<p>{{lead.seats}} seats</p>")}}});
    write_file(campaign / "scoring.yaml",
               "rules:\n  - { event: demo.requested, points: 25 }\ndecay: { half_life: 14d }\n"
               "stages:\n  mql: { score: { gte: 50 } }\n");
  }

  // Each start logs to a file of its own, so that waiting for "nurture running" waits for this start.
  fs::path log() const { return dir / fmt::format("daemon-{}.log", starts); }

  std::unique_ptr<ChildProcess> start() {
    ++starts;
    ::setenv("NURTURE_TEST_ADMIN_TOKEN", "adm-s3cret", 1);
    auto daemon = std::make_unique<ChildProcess>(std::vector<std::string>{NURTURE_BINARY, "run", campaign.string()},
                                                 log());
    ::unsetenv("NURTURE_TEST_ADMIN_TOKEN");
    wait_until_running(*daemon, log());
    return daemon;
  }

  int nurture(std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), NURTURE_BINARY);
    std::filesystem::remove(dir / log);
    return run_command(args, dir / log, campaign);
  }

  // The lead as `lead show --json` gives it, once `ready` holds for it (the daemon applies events as they come).
  nlohmann::json lead_when(const std::string& id, const std::function<bool(const nlohmann::json&)>& ready) {
    nlohmann::json lead;
    const auto deadline = steady_clock::now() + seconds(10);
    while (steady_clock::now() < deadline) {
      if (nurture({"lead", "show", id, "--json"}, "lead.json") == 0) {
        const std::string text = read_file(dir / "lead.json");
        lead = nlohmann::json::parse(text.substr(text.find('{')), nullptr, false);
        if (!lead.is_discarded() && ready(lead)) return lead;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    FAIL("lead " << id << " never got there: " << lead.dump() << "\n" << read_file(log()));
    return lead;
  }
};

}  // namespace

TEST_CASE("import, emit and the admin API type attributes alike, so a number condition holds for an imported lead") {
  MarketerCampaign m;
  auto daemon = m.start();
  // A spreadsheet export: a byte order mark, a declared number, a zip code declared text, an inferred boolean, one
  // bad row among good ones.
  write_file(m.dir / "leads.csv",
             "\xef\xbb\xbfid,email,first_name,seats,zip,newsletter\n"
             "L1,ana@example.com,Ana,139,02134,true\n"
             "L2,bo@example.com,Bo,many,02135,false\n"
             "L3,cy@example.com,Cy,12,,\n");
  CHECK(m.nurture({"import", (m.dir / "leads.csv").string()}, "import.log") == 1);
  const std::string said = read_file(m.dir / "import.log");
  CHECK_MESSAGE(said.find("leads.csv:3: error: column seats: attribute seats is declared number in nurture.yaml, and "
                          "\"many\" is not a number") != std::string::npos,
                said);
  CHECK(said.find("2 lead(s) imported from") != std::string::npos);
  CHECK(said.find("1 row(s) refused") != std::string::npos);
  // --strict: all or nothing.
  write_file(m.dir / "strict.csv", "id,seats\nS1,10\nS2,ten\n");
  CHECK(m.nurture({"import", (m.dir / "strict.csv").string(), "--strict"}, "strict.log") == 1);
  CHECK(read_file(m.dir / "strict.log").find("nothing imported from") != std::string::npos);

  const auto l1 = m.lead_when("L1", [](const nlohmann::json& lead) { return lead["attrs"].contains("seats"); });
  CHECK(l1["attrs"]["seats"] == 139);  // a number, as `emit` stores it: `{ gt: 50 }` holds
  CHECK(l1["attrs"]["zip"] == "02134");  // declared text: the leading zero stays
  CHECK(l1["attrs"]["newsletter"] == true);

  // emit: the same typing; a wrong type is refused before anything is added.
  CHECK(m.nurture({"emit", "lead.created", "--lead", "L3", "--attr", "seats=140"}, "emit.log") == 0);
  CHECK(m.nurture({"emit", "lead.updated", "--lead", "L3", "--attr", "trial_ends=next week"}, "bad_emit.log") == 2);
  CHECK(read_file(m.dir / "bad_emit.log").find("--attr attribute trial_ends is declared date in nurture.yaml") !=
        std::string::npos);
  // The admin API: "77" for a declared number is 77; "x" is a 400 that says why.
  const std::map<std::string, std::string> auth = {{"Authorization", "Bearer adm-s3cret"}};
  auto typed = http_request(m.admin_port, "POST", "/events",
                            R"({"type":"lead.created","lead":"L4","attrs":{"email":"di@example.com","seats":"77"}})", auth);
  CHECK(typed.status == 202);
  auto refused = http_request(m.admin_port, "POST", "/events", R"({"type":"lead.updated","lead":"L4","attrs":{"seats":"x"}})",
                              auth);
  CHECK(refused.status == 400);
  CHECK(refused.body.find("attribute seats is declared number") != std::string::npos);

  const auto l3 = m.lead_when("L3", [](const nlohmann::json& lead) { return lead["attrs"]["seats"] == 140; });
  CHECK(l3["enrollments"].size() == 1);  // 140 > 50: enrolled
  const auto l4 = m.lead_when("L4", [](const nlohmann::json& lead) { return lead["attrs"].contains("seats"); });
  CHECK(l4["attrs"]["seats"] == 77);
  CHECK(l4["enrollments"].size() == 1);
  // Nothing of the --strict file arrived (by now the daemon applied the events added after it).
  CHECK(m.nurture({"lead", "show", "S1"}, "s1.log") == 1);
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("a score a hair under a threshold shows as under it, and report and lead show read a stopped daemon") {
  MarketerCampaign m;
  auto daemon = m.start();
  write_file(m.dir / "lead.json", "{}");
  REQUIRE(m.nurture({"emit", "demo.requested", "--lead", "L1", "--attr", "first_name=Zoë", "--attr", "seats=3",
                     "--attr", "timezone=Asia/Tokyo"},
                    "emit.log") == 0);
  m.lead_when("L1", [](const nlohmann::json& lead) { return lead["score"] == 25; });
  std::this_thread::sleep_for(milliseconds(1100));  // real time must pass for the score to decay a little
  REQUIRE(m.nurture({"emit", "demo.requested", "--lead", "L1"}, "emit.log") == 0);
  // 25 halved every 14 days for a second, plus 25: 49.99997. It once showed as "score 50" while the stage stayed.
  const auto lead = m.lead_when("L1", [](const nlohmann::json& l) { return l["score"].get<double>() > 40; });
  CHECK(lead["score"] == doctest::Approx(49.9));
  CHECK(lead["stage"].is_null());
  REQUIRE(m.nurture({"lead", "show", "L1"}, "show.log") == 0);
  const std::string shown = read_file(m.dir / "show.log");
  CHECK_MESSAGE(shown.find("lead L1  score 49.9 (as of ") != std::string::npos, shown);
  CHECK(shown.find("score rules: demo.requested +25; halves every 2w") != std::string::npos);
  CHECK(shown.find("stage mql when score >= 50") != std::string::npos);
  // What the waiting enrollment waits for, and until when: in the lead's zone and in UTC.
  CHECK(shown.find("nudge (version 1, enrollment 1): waiting at pause") != std::string::npos);
  CHECK(shown.find("waits for the wait of 3d to end until ") != std::string::npos);
  CHECK(shown.find(" Asia/Tokyo (") != std::string::npos);
  CHECK(lead["enrollments"][0]["until"].get<std::string>().back() == 'Z');
  // One more request: past 50, the stage moves, and lead show tells when.
  REQUIRE(m.nurture({"emit", "demo.requested", "--lead", "L1"}, "emit.log") == 0);
  m.lead_when("L1", [](const nlohmann::json& l) { return l["stage"] == "mql"; });
  REQUIRE(m.nurture({"lead", "show", "L1"}, "show.log") == 0);
  CHECK(read_file(m.dir / "show.log").find("  stages: mql (20") != std::string::npos);
  CHECK(daemon->stop(SIGTERM) == 0);

  // The daemon is stopped: the reads start its Redis on its data for the read, and stop it after.
  CHECK(m.nurture({"lead", "show", "L1", "--json"}, "stopped_show.log") == 0);
  const std::string stopped = read_file(m.dir / "stopped_show.log");
  CHECK(stopped.find("is stopped: read from its data") != std::string::npos);
  CHECK(stopped.find("\"lead\":\"L1\"") != std::string::npos);
  CHECK(m.nurture({"report", "--format", "json"}, "report.log") == 0);
  CHECK(read_file(m.dir / "report.log").find("\"workflow\":\"welcome\"") != std::string::npos);
  // preview renders for the stored lead, or for one given inline.
  REQUIRE(m.nurture({"preview", m.campaign.string(), "welcome", "--lead-id", "L1", "--html-out",
                     (m.dir / "w.html").string()},
                    "preview.log") == 0);
  CHECK(read_file(m.dir / "preview.log").find("Subject: Welcome, Zoë") != std::string::npos);
  REQUIRE(m.nurture({"preview", m.campaign.string(), "welcome", "--lead", R"({"first_name": "Inline", "seats": 9})",
                     "--html-out", (m.dir / "w.html").string()},
                    "inline.log") == 0);
  CHECK(read_file(m.dir / "inline.log").find("Subject: Welcome, Inline") != std::string::npos);
  CHECK(read_file(m.dir / "w.html").find("9 seats") != std::string::npos);
  CHECK(m.nurture({"preview", m.campaign.string(), "welcome", "--lead-id", "nobody"}, "nobody.log") == 1);
  CHECK(read_file(m.dir / "nobody.log").find("no lead \"nobody\"") != std::string::npos);
  // What the reads started is gone: the daemon starts again on the same directory.
  CHECK_FALSE(fs::exists(m.campaign / ".nurture" / "redis.sock"));
  auto again = m.start();
  CHECK(again->stop(SIGTERM) == 0);
}

TEST_CASE("validate warns about a production secret unset where it runs, and run refuses to start without it") {
  TempDir dir;
  const fs::path campaign = dir / "campaign";
  write_campaign(campaign, {R"(redis: auto
sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: mail }
connectors:
  mail: { type: sendgrid, api_key_env: NURTURE_TEST_UNSET_SENDGRID_KEY }
)",
                            {{"welcome", "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n"
                                         "  - email: { template: welcome }\n"}},
                            {{"welcome", email_template("Welcome", "<p>hi</p>")}}});
  ::unsetenv("NURTURE_TEST_UNSET_SENDGRID_KEY");
  CHECK(run_command({NURTURE_BINARY, "validate", campaign.string()}, dir / "validate.log") == 0);
  const std::string said = read_file(dir / "validate.log");
  CHECK_MESSAGE(said.find("nurture.yaml:5:40: warning: environment variable NURTURE_TEST_UNSET_SENDGRID_KEY "
                          "(mail.api_key_env) is not set here") != std::string::npos,
                said);
  CHECK(said.find("1 workflow(s) valid") != std::string::npos);
  CHECK(run_command({NURTURE_BINARY, "run", campaign.string()}, dir / "run.log") == 1);
  CHECK(read_file(dir / "run.log").find("NURTURE_TEST_UNSET_SENDGRID_KEY") != std::string::npos);
}

TEST_CASE("send-test mails one marked email through the configured connector, with no daemon and no store") {
  TempDir dir;
  SmtpSink smtp(dir / "mail");
  const fs::path campaign = dir / "campaign";
  write_campaign(campaign, {fmt::format(R"(redis: auto
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
defaults: {{ email: smtp_main }}
connectors:
  smtp_main: {{ type: smtp, url: "{}" }}
)",
                                        smtp.url()),
                            {{"welcome", "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n"
                                         "  - email: { template: welcome }\n"}},
                            {{"welcome", email_template("Welcome, {{lead.first_name}}", "<p>hi</p>")}}});
  CHECK(run_command({NURTURE_BINARY, "send-test", "welcome", "--to", "qa@example.com"}, dir / "sent.log", campaign) == 0);
  CHECK(read_file(dir / "sent.log").find("sent a test of welcome to qa@example.com via smtp_main") != std::string::npos);
  const auto mails = smtp.wait_for(1, seconds(10));
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].rcpt_to == std::vector<std::string>{"qa@example.com"});
  CHECK(header(mails[0].raw, "Subject") == "[TEST] Welcome, Test");
  CHECK(header(mails[0].raw, "X-Nurture-Test") == "yes");
  // Nothing was stored: no daemon ever ran here, and none was started for it.
  CHECK_FALSE(fs::exists(campaign / ".nurture"));
  CHECK(run_command({NURTURE_BINARY, "send-test", "welcome", "--to", "not an address"}, dir / "bad.log", campaign) == 2);
  CHECK(read_file(dir / "bad.log").find("--to \"not an address\" is not a mail address") != std::string::npos);
  CHECK(run_command({NURTURE_BINARY, "send-test", "nope", "--to", "qa@example.com"}, dir / "nope.log", campaign) == 1);
  CHECK(read_file(dir / "nope.log").find("templates/nope.mustache") != std::string::npos);
}

TEST_CASE("revenue goes to the last email sent within the attribution window, and report shows it per send") {
  TempDir dir;
  const fs::path campaign = dir / "campaign";
  write_campaign(campaign, {R"(redis: auto
sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
tracking: { listen: "127.0.0.1:0" }
defaults: { email: outbox }
attribution: { window: 30d }
connectors:
  outbox: { type: file, dir: ./outbox }
)",
                            {{"welcome", two_email_drip("1h")}},
                            {{"welcome", email_template("Welcome", "<p>hi</p>")},
                             {"tips", email_template("Tips", "<p>tips</p>")}}});
  ChildProcess daemon({NURTURE_BINARY, "run", campaign.string()}, dir / "daemon.log");
  wait_until_running(daemon, dir / "daemon.log");
  auto nurture = [&](std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), NURTURE_BINARY);
    return run_command(args, dir / log, campaign);
  };
  REQUIRE(nurture({"emit", "lead.created", "--lead", "L1", "--attr", "email=ana@example.com"}, "emit.log") == 0);
  REQUIRE(nurture({"emit", "lead.created", "--lead", "L2", "--attr", "email=bo@example.com"}, "emit.log") == 0);
  REQUIRE(wait_for_files(campaign / "outbox", ".eml", 2, seconds(10)) == 2);
  // Two orders after the welcome email, one without an amount nurture can read.
  REQUIRE(nurture({"emit", "order.completed", "--lead", "L1", "--prop", "amount=49.90", "--prop", "currency=eur"},
                  "emit.log") == 0);
  REQUIRE(nurture({"emit", "deal.won", "--lead", "L2", "--prop", "amount=120", "--prop", "currency=EUR"}, "emit.log") ==
          0);
  REQUIRE(nurture({"emit", "order.completed", "--lead", "L2", "--prop", "amount=a lot"}, "emit.log") == 0);
  nlohmann::json report;
  const auto deadline = steady_clock::now() + seconds(10);
  while (steady_clock::now() < deadline) {
    if (nurture({"report", "--format", "json"}, "report.json") == 0) {
      const std::string text = read_file(dir / "report.json");
      report = nlohmann::json::parse(text.substr(text.find('{')), nullptr, false);
      if (!report.is_discarded() && report["workflows"][0]["revenue"].contains("EUR") &&
          report["workflows"][0]["revenue"]["EUR"] == doctest::Approx(169.9)) {
        break;
      }
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  REQUIRE_MESSAGE(report["workflows"][0]["revenue"]["EUR"] == doctest::Approx(169.9), report.dump());
  CHECK(report["workflows"][0]["revenue"].size() == 1);  // "a lot" counted nowhere
  CHECK(report["workflows"][0]["revenue_per_send"]["EUR"] == doctest::Approx(84.95));
  CHECK(report["workflows"][0]["steps"][0]["step"] == "hello");
  CHECK(report["workflows"][0]["steps"][0]["revenue"]["EUR"] == doctest::Approx(169.9));
  REQUIRE(nurture({"report"}, "report.txt") == 0);
  CHECK(read_file(dir / "report.txt").find("revenue: EUR 169.90 in 2 order(s), 84.95 per send") != std::string::npos);
  CHECK(daemon.stop(SIGTERM) == 0);
}
