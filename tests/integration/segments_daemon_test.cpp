// Segments under the real daemon: a segments.yaml added by a reload is evaluated over the leads already stored
// (in the background, once per definition), entering starts a workflow, and `nurture segment` shows and exports
// the members.

#include <signal.h>

#include <doctest/doctest.h>

#include "tests/support/daemon_campaign.hpp"
#include "tests/support/process.hpp"

using namespace nurture::testing;

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void wait_for_log(const fs::path& log, const std::string& what, std::size_t times = 1) {
  const auto deadline = steady_clock::now() + seconds(20);
  while (occurrences(read_file(log), what) < times) {
    REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(log));
    std::this_thread::sleep_for(milliseconds(20));
  }
}

}  // namespace

TEST_CASE("a segment added by a reload takes in the stored leads, starts a workflow, and is shown, exported and listed") {
  DaemonCampaign c("auto", 6);
  auto daemon = c.start();
  {
    auto connection = nurture::engine::redis::RedisConnection::open(c.socket_url());
    REQUIRE(connection);
    std::vector<nurture::engine::redis::Command> commands;
    for (int i = 0; i < c.leads; ++i) {
      commands.push_back({"XADD", "nurture:events", "*", "type", "lead.created", "lead", fmt::format("L{}", i),
                          "attrs", fmt::format(R"({{"email":"l{}@example.com","plan":"{}"}})", i, i % 2 ? "pro" : "free")});
    }
    for (const auto& reply : (*connection)->pipeline(commands)) REQUIRE_FALSE(reply.is_error());
  }
  REQUIRE(c.wait_delivered(12, seconds(20)) == 12);  // the drip's two emails each

  write_file(c.campaign / "segments.yaml", "pros: { attr.plan: pro }\n");
  write_file(c.campaign / "workflows/pro_welcome.yaml", R"(workflow: pro_welcome
trigger: { event: segment.entered, when: { segment: pros } }
steps:
  - id: pro_hello
    email: { template: welcome }
)");
  ::kill(daemon->pid(), SIGHUP);
  const fs::path log = c.dir / "daemon.log";
  wait_for_log(log, "segments: done, 6 leads looked at, 3 entered or left a segment");
  CHECK(c.wait_delivered(15, seconds(20)) == 15);  // L1, L3, L5 entered `pros`

  // Once per definition: a reload with the same segments.yaml looks at no lead again.
  ::kill(daemon->pid(), SIGHUP);
  wait_for_log(log, "reloading", 2);
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(occurrences(read_file(log), "segments: looking at every stored lead again") == 1);

  const fs::path out = c.dir / "segment.log";
  const fs::path csv = c.dir / "pros.csv";
  REQUIRE(run_command({NURTURE_BINARY, "segment", "show", "pros", "--export", csv.string(), "--config",
                       (c.campaign / "nurture.yaml").string()},
                      out, c.campaign) == 0);
  CHECK(read_file(out).find("segment pros: 3 lead(s)\n  L1  l1@example.com\n  L3  l3@example.com") != std::string::npos);
  CHECK(read_file(csv) == "lead,email\r\nL1,l1@example.com\r\nL3,l3@example.com\r\nL5,l5@example.com\r\n");
  REQUIRE(run_command({NURTURE_BINARY, "segment", "list", "--config", (c.campaign / "nurture.yaml").string()}, out,
                      c.campaign) == 0);
  CHECK(read_file(out).find("pros") != std::string::npos);
  CHECK(read_file(out).find(" 3\n") != std::string::npos);
  CHECK(run_command({NURTURE_BINARY, "segment", "show", "nobody", "--config", (c.campaign / "nurture.yaml").string()},
                    out, c.campaign) == 1);
  CHECK(read_file(out).find("no segment \"nobody\"") != std::string::npos);

  // lead list filters by segment (now), workflow, stage; lead show tells the segments a lead is in.
  const std::string config = (c.campaign / "nurture.yaml").string();
  REQUIRE(run_command({NURTURE_BINARY, "lead", "list", "--segment", "pros", "--config", config}, out, c.campaign) == 0);
  const std::string listed = "\n" + read_file(out);  // the count comes on stderr, the leads on stdout
  CHECK(listed.find("\nL1 ") < listed.find("\nL3 "));
  CHECK(listed.find("\nL3 ") < listed.find("\nL5 "));
  CHECK(listed.find("\nL5 ") != std::string::npos);
  CHECK(listed.find("\nL2 ") == std::string::npos);
  CHECK(listed.find("3 lead(s) match\n") != std::string::npos);
  REQUIRE(run_command({NURTURE_BINARY, "lead", "list", "--limit", "2", "--config", config}, out, c.campaign) == 0);
  CHECK(read_file(out).find("6 lead(s) match, the first 2 shown (--limit)") != std::string::npos);
  REQUIRE(run_command({NURTURE_BINARY, "lead", "list", "--workflow", "welcome", "--config", config}, out, c.campaign) == 0);
  CHECK(read_file(out).find("0 lead(s) match") != std::string::npos);  // the drip is over for everyone
  CHECK(run_command({NURTURE_BINARY, "lead", "list", "--step", "tips", "--config", config}, out, c.campaign) == 2);
  REQUIRE(run_command({NURTURE_BINARY, "lead", "show", "L1", "--json", "--config", config}, out, c.campaign) == 0);
  CHECK(read_file(out).find("\"segments\":[\"pros\"]") != std::string::npos);
  const fs::path shown = c.dir / "show.log";
  REQUIRE(run_command({NURTURE_BINARY, "lead", "show", "L3", "--config", config}, shown, c.campaign) == 0);
  CHECK(read_file(shown).find("  segments: pros\n") != std::string::npos);
  CHECK(daemon->stop(SIGTERM) == 0);
}
