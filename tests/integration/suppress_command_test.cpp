// `nurture suppress` against a real daemon: an imported list wins over the workflow from the next send on;
// export, list and remove see the same list.

#include <signal.h>

#include <doctest/doctest.h>

#include "tests/support/daemon_campaign.hpp"
#include "tests/support/process.hpp"

using namespace nurture::testing;

TEST_CASE("an imported suppression list stops the sends to its addresses, and export, list and remove see it") {
  DaemonCampaign c("auto", 3);
  auto daemon = c.start();
  const std::string config = (c.campaign / "nurture.yaml").string();
  const fs::path out = c.dir / "suppress.log";
  write_file(c.dir / "old-unsubscribes.csv",
             "name,email\r\nLee,L1@Example.com\r\nBad,not an address\r\nKim,kim@example.com\r\nAgain,l1@example.com\r\n");
  CHECK(run_command({NURTURE_BINARY, "suppress", "import", (c.dir / "old-unsubscribes.csv").string(), "--config", config},
                    out, c.campaign) == 1);  // one line refused: said, the rest imported
  const std::string summary = read_file(out);
  CHECK(summary.find("4 address(es) read, 2 newly suppressed on email, 0 already were; 1 line(s) refused") !=
        std::string::npos);
  CHECK(summary.find("old-unsubscribes.csv:3: error: \"not an address\" is not a mail address") != std::string::npos);
  REQUIRE(run_command({NURTURE_BINARY, "suppress", "import", (c.dir / "old-unsubscribes.csv").string(), "--config", config},
                      out, c.campaign) == 1);
  CHECK(read_file(out).find("0 newly suppressed on email, 2 already were") != std::string::npos);  // idempotent

  c.emit_all(c.socket_url());  // L0, L1, L2: L1's address is on the list
  CHECK(c.wait_delivered(4, seconds(20)) == 4);
  std::this_thread::sleep_for(milliseconds(500));
  CHECK(c.delivered() == 4);

  REQUIRE(run_command({NURTURE_BINARY, "suppress", "export", (c.dir / "list.csv").string(), "--config", config}, out,
                      c.campaign) == 0);
  CHECK(read_file(c.dir / "list.csv") == "address\r\nkim@example.com\r\nl1@example.com\r\n");
  REQUIRE(run_command({NURTURE_BINARY, "suppress", "remove", "KIM@example.com", "--config", config}, out, c.campaign) == 0);
  CHECK(read_file(out).find("kim@example.com is no longer suppressed on email") != std::string::npos);
  const fs::path listed = c.dir / "list.log";
  REQUIRE(run_command({NURTURE_BINARY, "suppress", "list", "--config", config}, listed, c.campaign) == 0);
  CHECK(read_file(listed).find("l1@example.com\n") != std::string::npos);
  CHECK(read_file(listed).find("kim@") == std::string::npos);
  CHECK(read_file(listed).find("1 address(es) suppressed on email") != std::string::npos);
  CHECK(daemon->stop(SIGTERM) == 0);
}
