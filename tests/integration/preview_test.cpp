// `nurture preview`: one template rendered for a sample lead, as the dispatcher would, without Redis.
#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

using namespace nurture::testing;

TEST_CASE("nurture preview prints subject, preheader and text, and writes the tracked html") {
  TempDir dir;
  write_file(dir / "lead.json", R"({"id": "L9", "email": "zoe@example.com", "first_name": "Zoë"})");
  const std::string example = std::string(NURTURE_SOURCE_DIR) + "/examples/welcome";
  REQUIRE(run_command({NURTURE_BINARY, "preview", example, "welcome", "--lead", (dir / "lead.json").string(),
                       "--html-out", (dir / "welcome.html").string()},
                      dir / "preview.log") == 0);
  const std::string shown = read_file(dir / "preview.log");
  CHECK(shown.find("Subject: Welcome aboard, Zoë!\n") != std::string::npos);
  CHECK(shown.find("Preheader: Three tips for your first week\n") != std::string::npos);
  CHECK(shown.find("Open your dashboard (https://acme.example/start?lead=L9)") != std::string::npos);
  const std::string html = read_file(dir / "welcome.html");
  CHECK(html.find("<h1>Welcome, Zoë!</h1>") != std::string::npos);
  CHECK(html.find("https://t.acme.example/t/c/") != std::string::npos);  // the link is tracked as in a real send
  CHECK(html.find("u=https%3A%2F%2Facme.example%2Fstart%3Flead%3DL9") != std::string::npos);
  CHECK(html.find("Three tips for your first week</div>") != std::string::npos);

  CHECK(run_command({NURTURE_BINARY, "preview", example, "no_such_template"}, dir / "missing.log", dir.path()) == 1);
  CHECK(read_file(dir / "missing.log").find("templates/no_such_template.mustache: error: cannot read the file") !=
        std::string::npos);
}
