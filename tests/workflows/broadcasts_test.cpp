#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"
#include "workflows/campaign.hpp"

using namespace nurture::workflows;
using nurture::testing::TempDir;
using nurture::testing::write_file;

namespace {

const char* config = R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox, timezone: Europe/Berlin }
connectors:
  outbox: { type: file, dir: ./outbox }
)";

CampaignLoad load_with_broadcast(const std::string& text) {
  TempDir dir;
  write_file(dir / "nurture.yaml", config);
  write_file(dir / "segments.yaml", "subscribers: { attr.newsletter: true }\n");
  write_file(dir / "workflows/welcome.yaml", nurture::testing::two_email_drip());
  for (const char* name : {"welcome", "tips", "news_a", "news_b"}) {
    write_file(dir / (std::string("templates/") + name + ".mustache"),
               nurture::testing::email_template("Hi", "<p>hi</p>"));
  }
  write_file(dir / "broadcasts/april.yaml", text);
  return load_campaign(dir.path());
}

std::string said(const CampaignLoad& load) {
  std::string text;
  for (const auto& d : load.diagnostics) text += d.format() + "\n";
  return text;
}

}  // namespace

TEST_CASE("broadcasts/*.yaml: a segment, a local time in each lead's zone, an email, a throttle and a split") {
  const auto load = load_with_broadcast(R"(broadcast: april
segment: subscribers
at: "2026-04-07T09:00"
timezone: lead
fallback: America/New_York
email: { template: news_a }
throttle: "2000/m"
split:
  test_share: 20
  variants: [ { template: news_a }, { template: news_b } ]
  pick_by: opens
  wait: 6h
)");
  INFO(said(load));
  REQUIRE(load.ok());
  REQUIRE(load.campaign.broadcasts.size() == 1);
  const Broadcast& b = load.campaign.broadcasts.front();
  CHECK(b.id == "april");
  CHECK(b.segment == "subscribers");
  CHECK(b.at_local == "2026-04-07T09:00");
  CHECK_FALSE(b.at);
  CHECK(b.lead_timezone);
  CHECK(b.fallback == "America/New_York");
  CHECK(std::string(b.kind()) == "email");
  CHECK(std::get<EmailStep>(b.action).connector == "outbox");  // defaults.email
  REQUIRE(b.throttle);
  CHECK(b.throttle->count == 2000);
  CHECK(b.throttle->per == std::chrono::minutes(1));
  REQUIRE(b.split);
  CHECK(b.split->test_share == 20);
  CHECK(b.split->templates == std::vector<std::string>{"news_a", "news_b"});
  CHECK(b.split->pick_by == "opens");
  CHECK(b.split->wait == std::chrono::hours(6));
  CHECK(b.template_for(1) == "news_b");
  CHECK(b.template_for(-1) == "news_a");
}

TEST_CASE("a broadcast's mistakes are said at file:line:col with the fix") {
  auto load = load_with_broadcast(R"(broadcast: april
segment: subscriber
at: "2026-04-07 09:00"
email: { template: news_c }
throttle: "fast"
split: { test_share: 0, variants: [ { template: news_a } ], pick_by: likes, wait: 1h }
)");
  const std::string text = said(load);
  INFO(text);
  CHECK_FALSE(load.ok());
  CHECK(text.find("broadcasts/april.yaml:3:5: error: at \"2026-04-07 09:00\" is not a time") != std::string::npos);
  CHECK(text.find("broadcasts/april.yaml:5:11: error: throttle \"fast\" is not N/s, N/m, N/5m or N/h") !=
        std::string::npos);
  CHECK(text.find("test_share \"0\" is not a percent from 1 to 99") != std::string::npos);
  CHECK(text.find("`variants` is a list of at least two") != std::string::npos);
  CHECK(text.find("pick_by \"likes\" is not opens or clicks") != std::string::npos);

  // Once the file reads, its references are checked: the segment (with a suggestion) and the template.
  load = load_with_broadcast("broadcast: april\nsegment: subscriber\nat: \"2026-04-07T09:00:00Z\"\n"
                             "email: { template: news_c }\n");
  const std::string references = said(load);
  INFO(references);
  CHECK(references.find("segment \"subscriber\", which segments.yaml does not define") != std::string::npos);
  CHECK(references.find("did you mean \"subscribers\"?") != std::string::npos);
  CHECK(references.find("template \"news_c\" does not exist") != std::string::npos);

  // A zoned instant is one moment for everyone: a `timezone` beside it is refused rather than half applied.
  load = load_with_broadcast("broadcast: april\nsegment: subscribers\nat: \"2026-04-07T09:00:00Z\"\ntimezone: lead\n"
                             "email: { template: news_a }\n");
  CHECK(said(load).find("`at` already names its zone") != std::string::npos);
  // And a broadcast sends exactly one thing.
  load = load_with_broadcast("broadcast: april\nsegment: subscribers\nat: \"2026-04-07T09:00\"\n");
  CHECK(said(load).find("a broadcast needs what to send") != std::string::npos);
}
