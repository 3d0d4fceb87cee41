#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"
#include "workflows/campaign.hpp"

using namespace nurture::workflows;
using nurture::testing::TempDir;
using nurture::testing::write_file;

namespace {

const char* config = R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
connectors:
  outbox: { type: file, dir: ./outbox }
  mastodon: { type: null }
  bluesky: { type: null }
)";

// A campaign with one workflow and the given posts/*.yaml files and post templates.
CampaignLoad load_with_posts(const std::map<std::string, std::string>& posts,
                             const std::string& teaser = "Spring is coming: https://acme.example/spring") {
  TempDir dir;
  write_file(dir / "nurture.yaml", config);
  write_file(dir / "workflows/welcome.yaml", nurture::testing::two_email_drip());
  write_file(dir / "templates/welcome.mustache", nurture::testing::email_template("Hi", "<p>hi</p>"));
  write_file(dir / "templates/tips.mustache", nurture::testing::email_template("Tips", "<p>tips</p>"));
  write_file(dir / "templates/launch_teaser.mustache", teaser);
  for (const auto& [name, text] : posts) write_file(dir / ("posts/" + name + ".yaml"), text);
  return load_campaign(dir.path());
}

std::string said(const CampaignLoad& load) {
  std::string text;
  for (const auto& d : load.diagnostics) text += d.format() + "\n";
  return text;
}

}  // namespace

TEST_CASE("posts/*.yaml: each file one post, at an instant, on its connectors, sorted by time") {
  const auto load = load_with_posts({{"teaser", R"(post: launch_teaser
at: "2026-03-30T17:00:00+02:00"
connectors: [mastodon, bluesky]
template: launch_teaser
)"},
                                     {"early", R"(post: early
at: "2026-03-29T08:00:00Z"
connectors: [mastodon]
template: launch_teaser
)"}});
  REQUIRE_MESSAGE(load.ok(), said(load));
  REQUIRE(load.campaign.posts.size() == 2);
  CHECK(load.campaign.posts[0].id == "early");
  const ScheduledPost& teaser = load.campaign.posts[1];
  CHECK(teaser.id == "launch_teaser");
  CHECK(teaser.at == std::chrono::sys_days{std::chrono::year{2026} / 3 / 30} + std::chrono::hours(15));
  CHECK(teaser.connectors == std::vector<std::string>{"mastodon", "bluesky"});
  CHECK(teaser.template_name == "launch_teaser");
  CHECK(load.campaign.post("early") != nullptr);
}

TEST_CASE("a post's mistakes are errors at their place: no zone, an unknown connector, a twin, a lead variable") {
  const auto no_zone = load_with_posts({{"a", "post: a\nat: \"2026-03-30T15:00\"\nconnectors: [mastodon]\ntemplate: launch_teaser\n"}});
  CHECK(said(no_zone).find("posts/a.yaml:2:5: error: at \"2026-03-30T15:00\" is not a time with its zone") !=
        std::string::npos);
  const auto unknown = load_with_posts({{"a", "post: a\nat: \"2026-03-30T15:00:00Z\"\nconnectors: [mastadon]\ntemplate: launch_teaser\n"}});
  CHECK(said(unknown).find("connector \"mastadon\" is not configured (did you mean \"mastodon\"?)") != std::string::npos);
  const auto twins = load_with_posts({{"a", "post: same\nat: \"2026-03-30T15:00:00Z\"\nconnectors: [mastodon]\ntemplate: launch_teaser\n"},
                                      {"b", "post: same\nat: \"2026-03-31T15:00:00Z\"\nconnectors: [mastodon]\ntemplate: launch_teaser\n"}});
  CHECK(said(twins).find("post id \"same\" is also used by posts/a.yaml") != std::string::npos);
  const auto personal = load_with_posts({{"a", "post: a\nat: \"2026-03-30T15:00:00Z\"\nconnectors: [mastodon]\ntemplate: launch_teaser\n"}},
                                        "Hi {{lead.first_name}}!");
  INFO(said(personal));
  CHECK(said(personal).find("templates/launch_teaser.mustache:1:4: error: post \"a\" uses lead.first_name") !=
        std::string::npos);
  const auto extra = load_with_posts({{"a", "post: a\nat: \"2026-03-30T15:00:00Z\"\nconnectors: [mastodon, mastodon]\ntemplate: launch_teaser\nwhen: now\n"}});
  CHECK(said(extra).find("connector \"mastodon\" is listed twice") != std::string::npos);
  CHECK(said(extra).find("when") != std::string::npos);
  CHECK_FALSE(extra.ok());
}
