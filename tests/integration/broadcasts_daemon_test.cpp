// Broadcasts under the real daemon: an A/B broadcast to a segment sends its test share, picks the variant with more
// clicks and sends it to the rest, each subscriber exactly once, nothing again after a restart; a throttled one
// cancelled mid-send stops; `nurture broadcast` and `nurture report` say where each stands.

#include <signal.h>

#include <fstream>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "engine/core/broadcast_plan.hpp"
#include "engine/core/event.hpp"
#include "engine/core/identity.hpp"
#include "tests/support/daemon_campaign.hpp"
#include "tests/support/process.hpp"
#include "workflows/campaign.hpp"

using namespace nurture::testing;

namespace {

constexpr int lead_count = 40;  // L0..L39; every tenth has said no to the newsletter

bool subscribes(int i) { return i % 10 != 3; }

void add_leads(const std::string& url) {
  auto connection = nurture::engine::redis::RedisConnection::open(url);
  REQUIRE(connection);
  std::vector<nurture::engine::redis::Command> commands;
  for (int i = 0; i < lead_count; ++i) {
    commands.push_back({"XADD", "nurture:events", "*", "type", "lead.created", "lead", fmt::format("L{}", i), "attrs",
                        fmt::format(R"({{"email":"l{}@example.com","newsletter":{}}})", i, subscribes(i))});
  }
  for (const auto& reply : (*connection)->pipeline(commands)) REQUIRE_FALSE(reply.is_error());
}

// The broadcast's emails delivered, by lead: the file connector names each file by its action id.
std::map<std::string, std::string> delivered(const DaemonCampaign& c, const std::string& broadcast) {
  std::map<std::string, std::string> found;
  for (int i = 0; i < lead_count; ++i) {
    const std::string lead = fmt::format("L{}", i);
    const fs::path file = c.campaign / "outbox" / (nurture::engine::broadcast_action_id(broadcast, lead) + ".eml");
    if (fs::exists(file)) found[lead] = read_file(file);
  }
  return found;
}

std::string run_json(const DaemonCampaign& c, const std::vector<std::string>& args) {
  std::vector<std::string> argv{NURTURE_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--config", (c.campaign / "nurture.yaml").string()});
  const fs::path out = c.dir / "command.log";
  fs::remove(out);
  REQUIRE_MESSAGE(run_command(argv, out, c.campaign) == 0, read_file(out));
  return read_file(out);
}

}  // namespace

TEST_CASE("an A/B broadcast tests, picks the variant with more clicks, sends it to the rest, once per subscriber") {
  DaemonCampaign c("auto", lead_count);
  write_file(c.campaign / "segments.yaml", "subscribers: { attr.newsletter: true }\n");
  write_file(c.campaign / "templates/news_a.mustache", email_template("News A", "<p>a</p>"));
  write_file(c.campaign / "templates/news_b.mustache", email_template("News B", "<p>b</p>"));
  const auto now = std::chrono::system_clock::now();
  write_file(c.campaign / "broadcasts/monthly.yaml",
             fmt::format(R"(broadcast: monthly
segment: subscribers
at: "{}"
email: {{ template: news_a }}
split:
  test_share: 50
  variants: [ {{ template: news_a }}, {{ template: news_b }} ]
  pick_by: clicks
  wait: 5s
)",
                         nurture::engine::format_rfc3339(now + seconds(5))));
  write_file(c.campaign / "broadcasts/slow.yaml",
             fmt::format("broadcast: slow\nsegment: subscribers\nat: \"{}\"\nemail: {{ template: tips }}\n"
                         "throttle: \"2/s\"\n",
                         nurture::engine::format_rfc3339(now + seconds(5))));
  {  // revenue within a day of a send is the send's
    std::ofstream config(c.campaign / "nurture.yaml", std::ios::app);
    config << "attribution: { window: 1d }\n";
  }
  auto load = nurture::workflows::load_campaign(c.campaign, {});
  REQUIRE_MESSAGE(load.ok(), (load.diagnostics.empty() ? "" : load.diagnostics.front().format()));
  const nurture::workflows::Broadcast& monthly = *load.campaign.broadcast("monthly");

  auto daemon = c.start();
  add_leads(c.socket_url());
  int subscribers = 0, tested = 0;
  for (int i = 0; i < lead_count; ++i) {
    subscribers += subscribes(i);
    tested += subscribes(i) && nurture::engine::test_variant(monthly, fmt::format("L{}", i)) >= 0;
  }
  REQUIRE(tested >= 4);

  // The test share goes out; two of variant B's leads click.
  auto deadline = steady_clock::now() + seconds(30);
  while (delivered(c, "monthly").size() < static_cast<std::size_t>(tested)) {
    REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(c.dir / "daemon.log"));
    std::this_thread::sleep_for(milliseconds(100));
  }
  int clicks = 0;
  for (int i = 0; i < lead_count && clicks < 2; ++i) {
    const std::string lead = fmt::format("L{}", i);
    if (!subscribes(i) || nurture::engine::test_variant(monthly, lead) != 1) continue;
    run_json(c, {"emit", "email.clicked", "--lead", lead, "--prop", "workflow=~b:monthly", "--prop", "step=monthly"});
    ++clicks;
  }
  REQUIRE(clicks >= 1);

  // Cancelled mid-send, the throttled broadcast stops where it is.
  while (delivered(c, "slow").size() < 3) {
    REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(c.dir / "daemon.log"));
    std::this_thread::sleep_for(milliseconds(50));
  }
  run_json(c, {"broadcast", "cancel", "slow"});
  const std::size_t slow_at_cancel = delivered(c, "slow").size();

  deadline = steady_clock::now() + seconds(40);
  while (delivered(c, "monthly").size() < static_cast<std::size_t>(subscribers)) {
    REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(c.dir / "daemon.log"));
    std::this_thread::sleep_for(milliseconds(100));
  }
  const auto sent = delivered(c, "monthly");
  for (int i = 0; i < lead_count; ++i) {
    const std::string lead = fmt::format("L{}", i);
    INFO(lead);
    CHECK(sent.count(lead) == static_cast<std::size_t>(subscribes(i)));
    if (!sent.count(lead)) continue;
    const int variant = nurture::engine::test_variant(monthly, lead);
    // The test group got its own variant; the rest got the winner, B.
    const std::string subject = variant == 0 ? "Subject: News A" : "Subject: News B";
    CHECK(sent.at(lead).find(subject) != std::string::npos);
  }
  CHECK(delivered(c, "slow").size() <= slow_at_cancel + 2);  // what was already in the dispatcher's hands at most
  CHECK(delivered(c, "slow").size() < static_cast<std::size_t>(subscribers));

  // An order from a lead the newsletter reached last is its revenue. The buyer is one of the rest: a lead of the
  // test share had the slow broadcast planned after it (its last touch, even when cancelled before its send).
  std::string buyer;
  const auto slow_sent = delivered(c, "slow");
  for (const auto& [lead, mail] : sent) {
    if (!slow_sent.count(lead) && nurture::engine::test_variant(monthly, lead) < 0) buyer = lead;
  }
  REQUIRE_FALSE(buyer.empty());
  run_json(c, {"emit", "order.completed", "--lead", buyer, "--prop", "amount=120", "--prop", "currency=EUR"});
  nlohmann::json shown;
  deadline = steady_clock::now() + seconds(10);
  do {
    std::this_thread::sleep_for(milliseconds(100));
    shown = nlohmann::json::parse(run_json(c, {"broadcast", "show", "monthly", "--json"}));
  } while (shown[0]["revenue"].empty() && steady_clock::now() < deadline);
  INFO(shown.dump());
  CHECK(shown[0]["state"] == "sent");
  CHECK(shown[0]["sent"] == subscribers);
  CHECK(shown[0]["split"]["sent_to_rest"] == "news_b");
  CHECK(shown[0]["split"]["variants"][1]["clicked"] == clicks);
  CHECK(shown[0]["revenue"]["EUR"] == 120.0);
  const int buyer_variant = nurture::engine::test_variant(monthly, buyer) == 0 ? 0 : 1;  // the rest got B
  CHECK(shown[0]["split"]["variants"][buyer_variant]["revenue"]["EUR"] == 120.0);
  const auto profile = nlohmann::json::parse(run_json(c, {"lead", "show", buyer, "--json"}));
  CHECK(profile["broadcasts"]["monthly"] == buyer_variant + 1);
  const std::string list = run_json(c, {"broadcast", "list"});
  CHECK(list.find("slow                     cancelled") != std::string::npos);
  const std::string report = run_json(c, {"report"});
  CHECK(report.find("broadcast monthly to subscribers") != std::string::npos);
  CHECK(report.find("the rest got news_b") != std::string::npos);
  run_json(c, {"report", "--html", (c.dir / "report.html").string()});
  const std::string page = read_file(c.dir / "report.html");
  CHECK(page.find("broadcast monthly <small>to subscribers") != std::string::npos);
  CHECK(page.find("The rest got news_b.") != std::string::npos);
  CHECK(page.find("<b>EUR 120.00</b><span>revenue</span>") != std::string::npos);

  // A restart sends nobody anything again.
  CHECK(daemon->stop(SIGTERM) == 0);
  auto again = c.start();
  std::this_thread::sleep_for(seconds(3));
  CHECK(delivered(c, "monthly").size() == static_cast<std::size_t>(subscribers));
  CHECK(delivered(c, "slow").size() <= slow_at_cancel + 2);
  CHECK(again->stop(SIGTERM) == 0);
}
