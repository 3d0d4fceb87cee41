// Scheduled posts on the real daemon: a post to two connectors, one of which (a Mastodon server) fails first and
// is retried, published once each; `nurture posts` shows the calendar.

#include <signal.h>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "engine/core/event.hpp"
#include "tests/support/daemon_campaign.hpp"
#include "tests/support/process.hpp"

using namespace nurture::testing;

TEST_CASE("a post to two connectors: one fails and is retried, both publish once, and `nurture posts` says so") {
  TempDir dir;
  HttpRecorder mastodon(dir / "mastodon");
  mastodon.script({{503, R"({"error":"busy"})", {{"Retry-After", "1"}}}, {200, R"({"id":"109876"})"}});
  const fs::path campaign = dir / "campaign";
  write_campaign(campaign, {fmt::format(R"(redis: auto
tracking: {{ listen: "127.0.0.1:0" }}
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
defaults: {{ email: outbox }}
connectors:
  outbox: {{ type: file, dir: ./outbox }}
  calendar: {{ type: file, dir: ./calendar }}
  mastodon: {{ type: mastodon, base_url: "{}", token_env: NURTURE_TEST_MASTODON }}
)",
                                        mastodon.url()),
                            {{"welcome", two_email_drip("1h")}},
                            {{"welcome", email_template("Hi", "<p>hi</p>")}, {"tips", email_template("Tips", "<p>t</p>")}}});
  write_file(campaign / "templates/teaser.mustache", "Spring launch on April 1: https://acme.example/spring");
  const auto at = nurture::engine::format_rfc3339(std::chrono::system_clock::now() + seconds(3));
  write_file(campaign / "posts/teaser.yaml",
             fmt::format("post: teaser\nat: \"{}\"\nconnectors: [mastodon, calendar]\ntemplate: teaser\n", at));
  write_file(campaign / "posts/later.yaml",
             "post: later\nat: \"2099-01-01T09:00:00Z\"\nconnectors: [calendar]\ntemplate: teaser\n");
  const std::string config = (campaign / "nurture.yaml").string();
  ::setenv("NURTURE_TEST_MASTODON", "masto-token", 1);
  REQUIRE_MESSAGE(run_command({NURTURE_BINARY, "validate", campaign.string()}, dir / "validate.log", campaign) == 0,
                  read_file(dir / "validate.log"));
  ChildProcess daemon({NURTURE_BINARY, "run", campaign.string()}, dir / "daemon.log");
  ::unsetenv("NURTURE_TEST_MASTODON");
  const auto deadline = steady_clock::now() + seconds(30);
  std::string calendar;
  do {
    std::this_thread::sleep_for(milliseconds(200));
    REQUIRE_MESSAGE(daemon.running(), read_file(dir / "daemon.log"));
    fs::remove(dir / "posts.log");
    if (run_command({NURTURE_BINARY, "posts", "--config", config}, dir / "posts.log", campaign) != 0) continue;
    calendar = read_file(dir / "posts.log");
  } while (calendar.find("mastodon     published") == std::string::npos && steady_clock::now() < deadline);
  INFO(calendar);
  INFO(read_file(dir / "daemon.log"));
  CHECK(calendar.find("teaser                   mastodon     published    109876") != std::string::npos);
  CHECK(calendar.find("teaser                   calendar     published") != std::string::npos);
  CHECK(calendar.find("2099-01-01T09:00:00Z   later                    calendar     upcoming") != std::string::npos);
  CHECK(calendar.find("2 post(s) on 3 connector(s): 2 published, 1 upcoming") != std::string::npos);

  const auto requests = mastodon.requests();
  REQUIRE(requests.size() == 2);  // the failed attempt and the retry, nothing more
  CHECK(requests[1].path == "/api/v1/statuses");
  CHECK(nlohmann::json::parse(requests[1].body)["status"] == "Spring launch on April 1: https://acme.example/spring");
  std::this_thread::sleep_for(seconds(2));
  CHECK(mastodon.requests().size() == 2);
  CHECK(files_in(campaign / "calendar", ".json") == 1);
  CHECK(daemon.stop(SIGTERM) == 0);

  // A restart publishes nothing again.
  ::setenv("NURTURE_TEST_MASTODON", "masto-token", 1);
  ChildProcess again({NURTURE_BINARY, "run", campaign.string()}, dir / "again.log");
  ::unsetenv("NURTURE_TEST_MASTODON");
  wait_until_running(again, dir / "again.log");
  std::this_thread::sleep_for(seconds(2));
  CHECK(mastodon.requests().size() == 2);
  CHECK(again.stop(SIGTERM) == 0);
}

TEST_CASE("validate refuses a post longer than a network allows") {
  TempDir dir;
  const fs::path campaign = dir / "campaign";
  write_campaign(campaign, {R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
connectors:
  outbox: { type: file, dir: ./outbox }
  x: { type: x, token_env: NURTURE_TEST_X }
  mastodon: { type: mastodon, base_url: "https://mastodon.example", token_env: NURTURE_TEST_MASTODON }
)",
                            {{"welcome", two_email_drip("1h")}},
                            {{"welcome", email_template("Hi", "<p>hi</p>")}, {"tips", email_template("Tips", "<p>t</p>")}}});
  write_file(campaign / "templates/long.mustache", std::string(300, 'a'));
  write_file(campaign / "posts/long.yaml",
             "post: long\nat: \"2026-04-01T09:00:00Z\"\nconnectors: [mastodon, x]\ntemplate: long\n");
  ::setenv("NURTURE_TEST_X", "x", 1);
  ::setenv("NURTURE_TEST_MASTODON", "m", 1);
  CHECK(run_command({NURTURE_BINARY, "validate", campaign.string()}, dir / "validate.log", campaign) == 1);
  ::unsetenv("NURTURE_TEST_X");
  ::unsetenv("NURTURE_TEST_MASTODON");
  const std::string said = read_file(dir / "validate.log");
  CHECK(said.find("posts/long.yaml:1:1: error: post \"long\" is 300 characters, more than x allows (280)") !=
        std::string::npos);
  CHECK(said.find("more than mastodon allows") == std::string::npos);  // 500 there
}
