#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"
#include "workflows/campaign.hpp"

using namespace nurture::workflows;
using nurture::testing::TempDir;
using nurture::testing::write_file;

namespace {

// A campaign whose workflow starts when a lead enters a segment; `segments` is segments.yaml.
CampaignLoad load_with_segments(const std::string& segments, const std::string& when = "{ segment: enterprise }") {
  TempDir dir;
  write_file(dir / "nurture.yaml", nurture::testing::minimal_config);
  write_file(dir / "workflows/welcome.yaml", "workflow: welcome\ntrigger: { event: segment.entered, when: " + when +
                                                 " }\nsteps:\n  - id: hello\n    email: { template: welcome }\n");
  write_file(dir / "templates/welcome.mustache", nurture::testing::email_template("Hi", "<p>hi</p>"));
  write_file(dir / "segments.yaml", segments);
  write_file(dir / "scoring.yaml", "stages:\n  mql: { score: { gte: 50 } }\n  sql: { score: { gte: 80 } }\n");
  return load_campaign(dir.path());
}

std::string errors(const CampaignLoad& load) {
  std::string text;
  for (const auto& d : load.diagnostics) text += d.format() + "\n";
  return text;
}

}  // namespace

TEST_CASE("segments.yaml names conditions that any condition can use as `segment: NAME`") {
  const auto load = load_with_segments(R"(enterprise:
  all:
    - attr.company_size: { gte: 500 }
    - any: [ { stage: mql }, { segment: engaged_30d } ]
engaged_30d:
  event: email.clicked
  within: 30d
)");
  REQUIRE_MESSAGE(load.ok(), errors(load));
  REQUIRE(load.campaign.segments.size() == 2);
  CHECK(load.campaign.segments[0].name == "engaged_30d");  // sorted by name
  CHECK(load.campaign.segment("enterprise") != nullptr);
  CHECK(load.campaign.segment("nobody") == nullptr);
}

TEST_CASE("a segment that does not exist, a bad name and a segment containing itself are errors at their place") {
  const auto unknown = load_with_segments("enterprise: { attr.plan: pro }\n", "{ segment: enterprize }");
  CHECK(errors(unknown).find("workflows/welcome.yaml:2:") != std::string::npos);
  CHECK(errors(unknown).find("error: no segment \"enterprize\"") != std::string::npos);

  const auto bad_name = load_with_segments("Enterprise: { attr.plan: pro }\n");
  CHECK(errors(bad_name).find("segments.yaml:1:1: error: \"Enterprise\" is not a segment name") != std::string::npos);

  const auto circle = load_with_segments(R"(enterprise: { segment: big }
big: { any: [ { attr.plan: pro }, { segment: enterprise } ] }
)");
  CHECK(errors(circle).find("segments.yaml:1:") != std::string::npos);  // where enterprise names big
  CHECK(errors(circle).find("contains itself (big -> enterprise -> big)") != std::string::npos);

  const auto not_a_map = load_with_segments("- enterprise\n");
  CHECK(errors(not_a_map).find("segments.yaml:1:1: error: segments.yaml is a map of segment names") !=
        std::string::npos);
}
