// The whole path in-process on a virtual clock: real redis-server, real SMTP server, the real engine.

#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "connectors/builtins.hpp"
#include "engine/runtime/dispatcher.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/http/status_server.hpp"
#include "engine/runtime/metrics.hpp"
#include "engine/http/tracking_endpoints.hpp"
#include "engine/http/webhooks.hpp"
#include "engine/core/identity.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;
using nurture::testing::header;
using nurture::testing::mime_part;
using nurture::testing::RedisServer;
using nurture::testing::SmtpSink;
using nurture::testing::TempDir;

namespace {

const TimePoint t0 = sys_days{year{2026} / March / 2} + hours(8);

// A campaign, a Redis, an SMTP server; engines come and go on top of them like daemon restarts.
struct World {
  TempDir dir;
  RedisServer redis{dir / "redis"};
  SmtpSink smtp{dir / "mail"};
  workflows::Campaign campaign;
  std::unique_ptr<templates::TemplateLibrary> templates;
  std::unique_ptr<ConnectorSet> connectors;
  VirtualClock clock{t0};
  RetryPolicy retry{3, seconds(10), minutes(10)};

  World() {
    nurture::testing::write_campaign(
        dir / "campaign",
        {fmt::format(R"(sender:
  from: "Acme Team <hello@acme.example>"
  postal_address: "Acme Inc., 1 Main St, Springfield"
tracking: {{ base_url: "https://t.acme.example" }}
defaults: {{ email: smtp_main }}
partitions: 4
connectors:
  smtp_main: {{ type: smtp, url: "{}", timeout_ms: 5000 }}
)",
                     smtp.url()),
         {{"welcome", nurture::testing::two_email_drip("2d")},
          // Listeners, so the engine raises its events (it does not when nothing looks at them).
          {"mailed", "workflow: mailed\ntrigger: { event: email.sent }\nsteps:\n  - set: { tag: mailed }\n"},
          {"failures", "workflow: failures\ntrigger: { event: action.failed }\nsteps:\n  - set: { tag: failed }\n"}},
         {{"welcome", nurture::testing::email_template("Welcome aboard, {{lead.first_name}}!",
                                                       "<p>Hi {{lead.first_name}}, <a href=\"https://acme.example/"
                                                       "start\">start here</a>.</p>")},
          {"tips", nurture::testing::email_template("Three tips, {{lead.first_name}}", "<p>Tip one.</p>")}}});
    campaign = nurture::testing::load_campaign_or_fail(dir / "campaign");
    templates = std::make_unique<templates::TemplateLibrary>(campaign.templates_dir);
    sdk::Registry registry;
    connectors::register_builtin_connectors(registry);
    auto set = ConnectorSet::create(campaign.config, registry);
    REQUIRE(set);
    connectors = std::make_unique<ConnectorSet>(std::move(*set));
  }

  std::unique_ptr<redis::RedisStore> store() {
    auto s = std::make_unique<redis::RedisStore>(
        redis.connect(), redis::RedisStoreOptions{"nurture:", 4, "engine-test", hours(24), hours(24)});
    s->prepare();
    return s;
  }

  void emit(Store& store, const std::string& type, const std::string& lead, nlohmann::json attrs,
            const std::string& id = {}) {
    StreamFields fields{{"type", type}, {"lead", lead}, {"attrs", attrs.dump()}};
    if (!id.empty()) fields["id"] = id;
    store.add_event(fields);
  }

  redis::RedisReply redis_command(const redis::Command& command) { return redis.connect()->command(command); }

  // A counter of the welcome workflow in the lead's partition.
  std::string stat(const std::string& lead, const std::string& field) {
    return redis_command({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", partition_of(lead, 4)), field}).text;
  }
};

}  // namespace

TEST_CASE("a new lead gets the first email at once and the second only after the wait, across a restart") {
  World w;
  {
    auto store = w.store();
    Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
    w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}, {"first_name", "Ana"}});
    engine.drain();

    auto mails = w.smtp.messages();
    REQUIRE(mails.size() == 1);
    const std::string& raw = mails[0].raw;
    CHECK(mails[0].mail_from == "hello@acme.example");
    CHECK(mails[0].rcpt_to == std::vector<std::string>{"ana@example.com"});
    CHECK(header(raw, "Subject") == "Welcome aboard, Ana!");
    CHECK(header(raw, "From") == "Acme Team <hello@acme.example>");
    CHECK(header(raw, "To") == "ana@example.com");
    const std::string id = action_id("L1", "welcome", 1, 1, "hello", 1);
    CHECK(header(raw, "Message-ID") == "<" + id + "@acme.example>");
    const nurture::templates::TrackingLinks links = nurture::engine::tracking_links(w.campaign.config);
    const std::string ref = nurture::templates::encode_ref({id, "L1", "welcome", "hello"});
    CHECK(header(raw, "List-Unsubscribe") == "<https://t.acme.example/u/" + ref + "/" + links.signature('u', ref) + ">");
    CHECK(header(raw, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click");
    CHECK(header(raw, "Date") == "Mon, 02 Mar 2026 08:00:00 +0000");
    CHECK(header(raw, "Content-Type").rfind("multipart/alternative", 0) == 0);
    const std::string text = mime_part(raw, "text/plain; charset=UTF-8");
    CHECK(text.find("Hi Ana, start here (https://acme.example/start).") != std::string::npos);
    CHECK(text.find("Acme Inc., 1 Main St, Springfield") != std::string::npos);
    const std::string html = mime_part(raw, "text/html; charset=UTF-8");
    // The link is tracked (signed for this action and target), the open pixel added, the unsubscribe link not.
    CHECK(html.find("<p>Hi Ana, <a href=\"" + links.click_url(ref, "https://acme.example/start") +
                    "\">start here</a>.</p>") != std::string::npos);
    CHECK(html.find("<img src=\"" + links.open_pixel_url(ref) + "\"") != std::string::npos);
    CHECK(html.find("href=\"" + links.unsubscribe_url(ref) + "\"") != std::string::npos);

    w.clock.advance(hours(48) - seconds(1));
    engine.drain();
    CHECK(w.smtp.messages().size() == 1);  // not a second early
  }
  {
    // The engine restarts (a new process would build exactly this from the same Redis).
    auto store = w.store();
    Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
    engine.drain();
    CHECK(w.smtp.messages().size() == 1);
    w.clock.advance(seconds(1));
    engine.drain();
    auto mails = w.smtp.messages();
    REQUIRE(mails.size() == 2);
    CHECK(header(mails[1].raw, "Subject") == "Three tips, Ana");
    CHECK(header(mails[1].raw, "Date") == "Wed, 04 Mar 2026 08:00:00 +0000");

    w.clock.advance(days(30));
    engine.drain();
    CHECK(w.smtp.messages().size() == 2);  // the workflow is over
  }
  CHECK(w.stat("L1", "entered") == "1");
  CHECK(w.stat("L1", "completed") == "1");
  CHECK(w.stat("L1", "step:hello:sent") == "1");
  CHECK(w.stat("L1", "step:tips:sent") == "1");
}

TEST_CASE("an event committed but not acknowledged before a crash is re-delivered and applied once") {
  World w;
  {
    auto store = w.store();
    w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}, {"first_name", "Ana"}});
    // The engine reads the event and commits its transition, then dies before XACK.
    auto entries = store->read_events(10, milliseconds(0));
    REQUIRE(entries.size() == 1);
    auto event = parse_event(entries[0].fields, entries[0].id);
    REQUIRE(event);
    Interpreter interpreter(w.campaign);
    const LeadSnapshot before = store->load_lead("L1");
    REQUIRE(store->commit(before, interpreter.apply_event(before, *event, w.clock.now()), entries[0].id, "") ==
            CommitOutcome::committed);
  }
  auto store = w.store();
  CHECK(w.redis_command({"XPENDING", "nurture:events", "engine"}).elements[0].integer == 1);
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  engine.drain();
  CHECK(w.redis_command({"XPENDING", "nurture:events", "engine"}).elements[0].integer == 0);
  CHECK(w.smtp.messages().size() == 1);
  w.clock.advance(days(2));
  engine.drain();
  CHECK(w.smtp.messages().size() == 2);
}

TEST_CASE("an event read but not committed before a crash is processed after the restart") {
  World w;
  {
    auto store = w.store();
    w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}});
    REQUIRE(store->read_events(10, milliseconds(0)).size() == 1);  // read, then the process dies
  }
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  engine.drain();
  CHECK(w.smtp.messages().size() == 1);
}

TEST_CASE("a producer's event id makes a repeated event a no-op") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}}, "signup-1");
  w.emit(*store, "lead.updated", "L1", {{"first_name", "Changed"}}, "signup-1");
  engine.drain();
  CHECK(store->load_lead("L1").attrs.count("first_name") == 0);
}

TEST_CASE("a malformed event is dead-lettered with its reason and the engine goes on") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  store->add_event({{"type", "lead.created"}, {"attrs", "{}"}});
  store->add_event({{"type", "lead.created"}, {"lead", "L2"}, {"attrs", "{broken"}});
  w.emit(*store, "lead.created", "L3", {{"email", "sam@example.com"}});
  engine.drain();
  auto dead = w.redis_command({"XRANGE", "nurture:events:dead", "-", "+"});
  REQUIRE(dead.elements.size() == 2);
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason") == "missing field `lead`");
  CHECK(nurture::testing::stream_field(dead.elements[1], "reason").rfind("`attrs` is not valid JSON", 0) == 0);
  CHECK(w.smtp.messages().size() == 1);
  CHECK(w.redis_command({"XPENDING", "nurture:events", "engine"}).elements[0].integer == 0);
}

// The poison events of an adversarial trial: each one once stopped the daemon, and again after every restart.
TEST_CASE("hostile events are dead-lettered with their reason and the engine goes on") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  std::string many = "{";
  for (int i = 0; i < 4000; ++i) many += fmt::format("{}\"k{}\":{}", i ? "," : "", i, i);
  store->add_event({{"type", "lead.created"}, {"lead", "L1"}, {"attrs", many + "}"}});
  store->add_event({{"type", "lead.created"}, {"lead", "L2"}, {"attrs", "{\"a\":" + std::string(200000, '[')}});
  store->add_event({{"type", "lead.created"}, {"lead", "L\xff"}, {"attrs", R"({"email":"x@example.com"})"}});
  store->add_event({{"type", "lead.created"}, {"lead", "L4"},
                    {"attrs", R"({"email":"a@example.com>\r\nDATA\r\nSubject: owned\r\n.\r\nQUIT"})"}});
  w.emit(*store, "lead.created", "L5", {{"email", "sam@example.com"}});
  engine.drain();
  auto dead = w.redis_command({"XRANGE", "nurture:events:dead", "-", "+"});
  REQUIRE(dead.elements.size() == 4);
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason").find("more than the limit of 256") !=
        std::string::npos);
  CHECK(nurture::testing::stream_field(dead.elements[1], "reason").find("more than the limit of 65536") !=
        std::string::npos);
  CHECK(nurture::testing::stream_field(dead.elements[1], "truncated") == "attrs");
  CHECK(nurture::testing::stream_field(dead.elements[2], "reason").rfind("`lead` must be", 0) == 0);
  CHECK(nurture::testing::stream_field(dead.elements[3], "reason").rfind("`attrs.email`", 0) == 0);
  REQUIRE(w.smtp.messages().size() == 1);  // only the good lead's email, and no injected one
  CHECK(w.redis_command({"XPENDING", "nurture:events", "engine"}).elements[0].integer == 0);
}

TEST_CASE("a lead cannot grow past the attribute limit over many events: the event that would is refused whole") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  for (int batch = 0; batch < 3; ++batch) {
    nlohmann::json attrs = nlohmann::json::object();
    for (int i = 0; i < 100; ++i) attrs[fmt::format("b{}_{}", batch, i)] = i;
    w.emit(*store, "lead.updated", "L1", attrs);
  }
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}});
  engine.drain();
  auto dead = w.redis_command({"XRANGE", "nurture:events:dead", "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason") ==
        "engine error: the lead would have 300 attributes, more than the limit of 256");
  CHECK(store->load_lead("L1").attrs.size() == 201);
  CHECK(w.smtp.messages().size() == 1);
}

TEST_CASE("a lead's events in one batch are read once and committed in order, each from the state the one before left") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  engine.run_state_once(std::chrono::milliseconds(0));  // its once-a-second reads done (the clock stands still)
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}, {"plan", "free"}});
  w.emit(*store, "lead.updated", "L1", {{"plan", "pro"}});
  w.emit(*store, "lead.created", "L2", {{"email", "sam@example.com"}});
  w.emit(*store, "lead.updated", "L1", {{"plan", "enterprise"}, {"seats", 5}});
  w.redis_command({"CONFIG", "RESETSTAT"});
  REQUIRE(engine.run_state_once(std::chrono::milliseconds(0)) >= 4);
  auto calls = [&](const std::string& command) {
    const std::string stats = w.redis_command({"INFO", "commandstats"}).text;
    const auto at = stats.find("cmdstat_" + command + ":calls=");
    return at == std::string::npos ? 0 : std::stoi(stats.substr(at + command.size() + 15));
  };
  CHECK(calls("hgetall") == 2);  // one read per lead, not one per event
  const auto l1 = store->load_lead("L1");
  CHECK(l1.version == 3);
  CHECK(l1.attrs.at("plan") == "enterprise");
  CHECK(l1.attrs.at("seats") == 5);
  CHECK(l1.attrs.at("email") == "ana@example.com");
  CHECK(store->load_lead("L2").version == 1);
  engine.drain();
  CHECK(w.smtp.messages().size() == 2);  // one welcome each
}

TEST_CASE("a commit Redis refuses for one lead fails that lead's event alone, the rest of the batch commits") {
  World w;
  auto store = w.store();
  // Wrong data where a lead's hash belongs: every script that touches it errors (WRONGTYPE).
  w.redis_command({"SET", fmt::format("nurture:{{{}}}:lead:L9", partition_of("L9", 4)), "not a hash"});
  for (const char* lead : {"L1", "L9", "L2", "L3"}) {
    w.emit(*store, "lead.created", lead, {{"email", std::string(lead) + "@example.com"}});
  }
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  engine.drain();
  auto dead = w.redis_command({"XRANGE", "nurture:events:dead", "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(nurture::testing::stream_field(dead.elements[0], "lead") == "L9");
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason").find("WRONGTYPE") != std::string::npos);
  CHECK(w.smtp.messages().size() == 3);
}

TEST_CASE("an event that keeps stopping the engine is quarantined after five deliveries, the others go on") {
  World w;
  {
    auto store = w.store();
    w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}});
    w.emit(*store, "lead.created", "L2", {{"email", "sam@example.com"}});
    REQUIRE(store->read_events(10, milliseconds(0)).size() == 2);  // read in a batch, then the engine dies
  }
  // Each restart replays this consumer's pending entries one at a time; the engine dies on the first, again.
  for (int restart = 1; restart <= 5; ++restart) {
    auto store = w.store();
    auto replayed = store->read_events(10, milliseconds(0));
    REQUIRE(replayed.size() == 1);
    CHECK(replayed[0].fields.at("lead") == "L1");
    CHECK(replayed[0].earlier_deliveries == restart);
  }
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  engine.drain();
  auto dead = w.redis_command({"XRANGE", "nurture:events:dead", "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(nurture::testing::stream_field(dead.elements[0], "lead") == "L1");
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason").rfind("poison: handed to an engine 6 times", 0) ==
        0);
  REQUIRE(w.smtp.messages().size() == 1);  // L2, which was only ever in the batch that died once
  CHECK(w.redis_command({"XPENDING", "nurture:events", "engine"}).elements[0].integer == 0);
}

TEST_CASE("replaying after a store error counts no delivery: a long outage quarantines nothing") {
  World w;
  auto store = w.store();
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}});
  REQUIRE(store->read_events(10, milliseconds(0)).size() == 1);
  for (int outage = 0; outage < 10; ++outage) {
    store->replay_pending();
    auto again = store->read_events(10, milliseconds(0));
    REQUIRE(again.size() == 1);
    CHECK(again[0].earlier_deliveries == 1);
  }
}

TEST_CASE("an address the server refuses as unknown is suppressed, and later emails to it are skipped") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L1", {{"email", "nosuchuser@example.com"}});
  engine.drain();
  CHECK(w.redis_command({"SISMEMBER", "nurture:suppress:email", "nosuchuser@example.com"}).integer == 1);
  w.clock.advance(days(2));
  engine.drain();
  CHECK(w.smtp.messages().empty());
  CHECK(w.stat("L1", "step:hello:suppressed") == "1");
  CHECK(w.stat("L1", "step:tips:skipped") == "1");
}

TEST_CASE("a temporary SMTP refusal is retried with backoff, then dead-lettered after the last attempt") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L1", {{"email", "busy@example.com"}});
  engine.drain();
  const int p = partition_of("L1", 4);
  CHECK(w.stat("L1", "step:hello:retried") == "1");
  CHECK(w.redis_command({"ZCARD", fmt::format("nurture:{{{}}}:retry", p)}).integer == 1);
  // A 4xx asks for at least 30 s, more than this policy's jittered backoff: attempts at +30 s and +60 s.
  for (int i = 0; i < 8; ++i) {
    w.clock.advance(seconds(10));
    engine.drain();
  }
  CHECK(w.stat("L1", "step:hello:retried") == "2");
  CHECK(w.stat("L1", "step:hello:failed") == "1");
  auto dead = w.redis_command({"XRANGE", fmt::format("nurture:{{{}}}:outbox:dead", p), "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  const std::string reason = nurture::testing::stream_field(dead.elements[0], "reason");
  CHECK(reason.find("gave up after 3 attempts") == 0);
  CHECK(reason.find("451") != std::string::npos);
  CHECK(w.smtp.messages().empty());
}

TEST_CASE("an outbox entry whose result is recorded is not sent again") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}});
  engine.drain();
  REQUIRE(w.smtp.messages().size() == 1);
  // The same action reaches the outbox again (as a re-run after a crash would put it there).
  const int p = partition_of("L1", 4);
  const std::string id = action_id("L1", "welcome", 1, 1, "hello", 1);
  w.redis_command({"XADD", fmt::format("nurture:{{{}}}:outbox", p), "*", "aid", id, "lead", "L1", "wf", "welcome",
                   "v", "1", "step", "hello", "kind", "email", "tpl", "welcome", "conn", "smtp_main", "to",
                   "ana@example.com", "attempt", "1"});
  engine.drain();
  CHECK(w.smtp.messages().size() == 1);
}

TEST_CASE("a sent email comes back to the lead as email.sent through its partition's inbox") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}});
  engine.drain();
  REQUIRE(w.smtp.messages().size() == 1);
  const int p = partition_of("L1", 4);
  auto inbox = w.redis_command({"XRANGE", fmt::format("nurture:{{{}}}:inbox", p), "-", "+"});
  REQUIRE(inbox.elements.size() == 1);
  using nurture::testing::stream_field;
  CHECK(stream_field(inbox.elements[0], "type") == "email.sent");
  CHECK(stream_field(inbox.elements[0], "lead") == "L1");
  CHECK(stream_field(inbox.elements[0], "at") == "2026-03-02T08:00:00Z");
  const auto props = nlohmann::json::parse(stream_field(inbox.elements[0], "props"));
  CHECK(props["workflow"] == "welcome");
  CHECK(props["step"] == "hello");
  CHECK(props["action_id"] == action_id("L1", "welcome", 1, 1, "hello", 1));
  CHECK(props["connector"] == "smtp_main");
  CHECK(props["provider_id"].get<std::string>().rfind("smtp:250", 0) == 0);
  // The engine consumed it like any event: the `mailed` workflow ran on it, and it was acknowledged.
  CHECK(w.redis_command({"XPENDING", fmt::format("nurture:{{{}}}:inbox", p), "engine"}).elements[0].integer == 0);
  const LeadSnapshot lead = store->load_lead("L1");
  CHECK(lead.last_inbox_id == inbox.elements[0].elements[0].text);
  CHECK(lead.tags == std::set<std::string>{"mailed"});
}

TEST_CASE("an action that fails for good raises action.failed with the reason") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L1", {{"email", "busy@example.com"}});
  engine.drain();
  for (int i = 0; i < 8; ++i) {
    w.clock.advance(seconds(10));
    engine.drain();
  }
  const int p = partition_of("L1", 4);
  auto inbox = w.redis_command({"XRANGE", fmt::format("nurture:{{{}}}:inbox", p), "-", "+"});
  REQUIRE(inbox.elements.size() == 1);
  CHECK(nurture::testing::stream_field(inbox.elements[0], "type") == "action.failed");
  const auto props = nlohmann::json::parse(nurture::testing::stream_field(inbox.elements[0], "props"));
  CHECK(props["reason"].get<std::string>().find("gave up after 3 attempts") == 0);
  CHECK(store->load_lead("L1").tags == std::set<std::string>{"failed"});
}

TEST_CASE("two engines split the partitions' timers, when one falls silent the other serves them all") {
  World w;
  auto store_a = std::make_unique<redis::RedisStore>(
      w.redis.connect(), redis::RedisStoreOptions{"nurture:", 4, "engine-a", hours(24), hours(24)});
  auto store_b = std::make_unique<redis::RedisStore>(
      w.redis.connect(), redis::RedisStoreOptions{"nurture:", 4, "engine-b", hours(24), hours(24)});
  store_a->prepare();
  Engine a(*store_a, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  Engine b(*store_b, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  a.set_reclaim_after(milliseconds(300));
  b.set_reclaim_after(milliseconds(300));
  // Leads in every partition.
  std::map<int, std::string> lead_in;
  for (int i = 0; lead_in.size() < 4; ++i) lead_in.emplace(partition_of("L" + std::to_string(i), 4), "L" + std::to_string(i));
  for (const auto& [p, lead] : lead_in) w.emit(*store_a, "lead.created", lead, {{"email", lead + "@example.com"}});
  b.drain();  // heartbeat: b is alive
  a.drain();
  b.drain();
  REQUIRE(w.smtp.messages().size() == 4);

  w.clock.advance(days(2));
  store_b->heartbeat(milliseconds(300), w.clock.now());  // b is alive at the new time too
  a.drain();  // a serves partitions 0 and 2 only ("engine-a" is first of the two live engines)
  CHECK(w.stat(lead_in[0], "step:tips:sent") == "1");
  CHECK(w.stat(lead_in[2], "step:tips:sent") == "1");
  CHECK(w.stat(lead_in[1], "step:tips:sent").empty());
  CHECK(w.stat(lead_in[3], "step:tips:sent").empty());

  // b falls silent: past its lease (on the engines' clock), a's next heartbeat finds it alone and serves every
  // partition.
  w.clock.advance(seconds(2));
  a.drain();
  CHECK(w.stat(lead_in[1], "step:tips:sent") == "1");
  CHECK(w.stat(lead_in[3], "step:tips:sent") == "1");
  CHECK(w.smtp.messages().size() == 8);
}

TEST_CASE("a bounce report (DSN) for the first email suppresses the address: the second email is not sent") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}, {"first_name", "Ana"}});
  engine.drain();
  REQUIRE(w.smtp.messages().size() == 1);
  const std::string message_id = header(w.smtp.messages()[0].raw, "Message-ID");

  // What the recipient's mail server sends back, piped to `nurture dsn` as an MTA alias would.
  nurture::testing::write_file(
      w.dir / "dsn.eml",
      "From: MAILER-DAEMON@mx.example.com\r\nContent-Type: multipart/report; report-type=delivery-status; "
      "boundary=\"R\"\r\n\r\n--R\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n"
      "\r\nFinal-Recipient: rfc822; ana@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\r\n--R\r\nContent-Type: text/rfc822-headers\r\n\r\n"
      "Message-ID: " + message_id + "\r\nTo: ana@example.com\r\n\r\n--R--\r\n");
  const auto cli = [&](const std::string& log) {
    return nurture::testing::run_command({NURTURE_BINARY, "dsn", (w.dir / "dsn.eml").string(), "--redis", w.redis.url(),
                                          "--config", (w.dir / "campaign/nurture.yaml").string()},
                                         w.dir / log);
  };
  REQUIRE(cli("dsn.log") == 0);
  CHECK(nurture::testing::read_file(w.dir / "dsn.log")
            .find("1 report(s): 1 address(es) suppressed, 1 event(s) for leads, 0 without a known lead") !=
        std::string::npos);
  REQUIRE(cli("dsn-again.log") == 0);  // the MTA delivers the report twice: still one event for the lead

  engine.drain();
  const LeadSnapshot lead = store->load_lead("L1");
  CHECK(lead.suppressed.count("email") == 1);
  // Both deliveries of the report carry the same idempotency key, so the engine applies it once.
  const std::string action = message_id.substr(1, message_id.find('@') - 1);
  auto events = w.redis_command({"XRANGE", "nurture:events", "-", "+"});
  int reports = 0;
  for (const auto& entry : events.elements) {
    if (nurture::testing::stream_field(entry, "type") != "email.bounced") continue;
    ++reports;
    CHECK(nurture::testing::stream_field(entry, "id") == "dsn:" + action + ":ana@example.com");
    CHECK(nurture::testing::stream_field(entry, "lead") == "L1");
  }
  CHECK(reports == 2);
  CHECK(w.redis_command({"SISMEMBER", "nurture:suppress:email", "ana@example.com"}).integer == 1);

  w.clock.advance(hours(48));
  engine.drain();
  CHECK(w.smtp.messages().size() == 1);  // the second email was skipped, not sent
  CHECK(w.stat("L1", "step:tips:skipped") == "1");
}

TEST_CASE("a provider webhook over HTTP: authenticated bounces suppress and reach the lead, others change nothing") {
  World w;
  ::setenv("NURTURE_TEST_HOOK_USER", "hook", 1);
  ::setenv("NURTURE_TEST_HOOK_PASSWORD", "s3cret", 1);
  ::setenv("NURTURE_TEST_PM_TOKEN", "token", 1);
  workflows::Config config = w.campaign.config;
  workflows::ConnectorSettings postmark;
  postmark.name = "pm";
  postmark.type = "postmark";
  postmark.values = {{"server_token_env", "NURTURE_TEST_PM_TOKEN"},
                     {"webhook_user_env", "NURTURE_TEST_HOOK_USER"},
                     {"webhook_password_env", "NURTURE_TEST_HOOK_PASSWORD"}};
  config.connectors.push_back(postmark);
  auto store = w.store();
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto connectors = ConnectorSet::create(config, registry);
  REQUIRE(connectors);
  WebhookReceiver receiver(*store, w.clock);
  receiver.use(std::make_shared<ConnectorSet>(std::move(*connectors)));
  Metrics metrics;
  auto server = http::StatusServer::start("127.0.0.1:0", metrics,
                                          [&](const http::HttpCall& call) { return receiver.handle(call); });
  REQUIRE(server);
  const int port = (*server)->port();
  const std::string bounce = R"({"RecordType":"Bounce","ID":42,"Type":"HardBounce","Email":"ana@example.com",
    "Description":"unknown user","Metadata":{"action_id":"a1","lead":"L1","workflow":"welcome","step":"hello"}})";

  auto refused = nurture::testing::http_request(port, "POST", "/webhooks/pm", bounce,
                                                {{"Authorization", "Basic aG9vazp3cm9uZw=="}});  // hook:wrong
  CHECK(refused.status == 401);
  CHECK(w.redis_command({"SISMEMBER", "nurture:suppress:email", "ana@example.com"}).integer == 0);
  CHECK(nurture::testing::http_request(port, "POST", "/webhooks/smtp_main", bounce).status == 404);

  auto accepted = nurture::testing::http_request(port, "POST", "/webhooks/pm", bounce,
                                                 {{"Authorization", "Basic aG9vazpzM2NyZXQ="}});
  CHECK(accepted.status == 200);
  CHECK(accepted.body == "{\"events\":1,\"suppressed\":1}\n");
  CHECK(w.redis_command({"SISMEMBER", "nurture:suppress:email", "ana@example.com"}).integer == 1);
  auto events = w.redis_command({"XRANGE", "nurture:events", "-", "+"});
  REQUIRE(events.elements.size() == 1);
  CHECK(nurture::testing::stream_field(events.elements[0], "type") == "email.bounced");
  CHECK(nurture::testing::stream_field(events.elements[0], "lead") == "L1");
  CHECK(nurture::testing::stream_field(events.elements[0], "id") == "postmark:42");
  const auto props = nlohmann::json::parse(nurture::testing::stream_field(events.elements[0], "props"));
  CHECK(props["action_id"] == "a1");
  CHECK(props["step"] == "hello");
  CHECK(props["reason"] == "HardBounce: unknown user");
}

TEST_CASE("a template that fails to render fails that action for that lead, the engine and other sends go on") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  // Broken after validation, as a bad deploy would: the library reads templates when first used.
  nurture::testing::write_file(w.dir / "campaign/templates/tips.mustache",
                               "---\nsubject: Tips\n---\n{{#lead.vip}}never closed\n");
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}, {"first_name", "Ana"}});
  engine.drain();
  w.clock.advance(hours(48));
  engine.drain();  // tips for L1 cannot render
  w.emit(*store, "lead.created", "L2", {{"email", "bo@example.com"}, {"first_name", "Bo"}});
  engine.drain();

  auto mails = w.smtp.messages();
  REQUIRE(mails.size() == 2);  // hello for L1 and for L2
  CHECK(mails[1].rcpt_to == std::vector<std::string>{"bo@example.com"});
  CHECK(w.stat("L1", "step:tips:failed") == "1");
  auto dead = w.redis_command({"XRANGE", fmt::format("nurture:{{{}}}:outbox:dead", partition_of("L1", 4)), "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason").find("templates/tips.mustache") != std::string::npos);
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason").find("never closed") != std::string::npos);
}

TEST_CASE("the tracking endpoints: a click redirects and counts, the pixel counts an open, unsubscribe needs a POST") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  TrackingEndpoints tracking(tracking_links(w.campaign.config), *store, w.clock);
  Metrics metrics;
  auto server = http::StatusServer::start("127.0.0.1:0", metrics,
                                          [&](const http::HttpCall& call) { return tracking.handle(call); });
  REQUIRE(server);
  const int port = (*server)->port();
  w.emit(*store, "lead.created", "L1", {{"email", "ana@example.com"}, {"first_name", "Ana"}});
  engine.drain();
  REQUIRE(w.smtp.messages().size() == 1);
  const std::string html = mime_part(w.smtp.messages()[0].raw, "text/html; charset=UTF-8");
  // The links as the reader's mail client has them, made relative to our listener.
  auto path_of = [&](const std::string& marker) {
    const auto at = html.find("https://t.acme.example/" + marker);
    REQUIRE(at != std::string::npos);
    std::string url = html.substr(at, html.find('"', at) - at);
    url = std::regex_replace(url, std::regex("&amp;"), "&");
    return url.substr(std::string("https://t.acme.example").size());
  };
  const std::string click = path_of("t/c/");
  const std::string pixel = path_of("t/o/");
  const std::string unsubscribe = path_of("u/");

  // Link scanners send HEAD: the same answers, but no click and no open (checked by the counts below).
  CHECK(nurture::testing::http_request(port, "HEAD", click).status == 302);
  CHECK(nurture::testing::http_request(port, "HEAD", pixel).status == 200);
  auto clicked = nurture::testing::http_request(port, "GET", click);
  CHECK(clicked.status == 302);
  CHECK(clicked.headers["location"] == "https://acme.example/start");
  CHECK(nurture::testing::http_request(port, "GET", click).status == 302);  // a second click: one unique click
  auto opened = nurture::testing::http_request(port, "GET", pixel);
  CHECK(opened.status == 200);
  CHECK(opened.headers["content-type"] == "image/gif");
  CHECK(opened.body.rfind("GIF89a", 0) == 0);

  std::string forged = click;
  forged.replace(forged.find("start"), 5, "evil!");
  CHECK(nurture::testing::http_request(port, "GET", forged).status == 400);
  // Even a correctly signed target is checked again before it becomes a Location.
  const nurture::templates::TrackingLinks signer = tracking_links(w.campaign.config);
  for (const std::string target : {"javascript:alert(1)", "https://acme.example/\r\nSet-Cookie: a=b"}) {
    const std::string url = signer.click_url(nurture::templates::encode_ref({"a", "L1", "welcome", "hello"}), target);
    auto refused = nurture::testing::http_request(port, "GET", url.substr(url.find("/t/c/")));
    CHECK(refused.status == 400);
    CHECK(refused.headers.count("location") == 0);
  }

  auto page = nurture::testing::http_request(port, "GET", unsubscribe);
  CHECK(page.status == 200);
  CHECK(page.body.find("<form method=\"post\"") != std::string::npos);
  engine.drain();
  CHECK(w.stat("L1", "step:hello:clicked") == "1");
  CHECK(w.stat("L1", "step:hello:opened") == "1");
  CHECK(store->load_lead("L1").suppressed.count("email") == 0);  // looking at the page unsubscribes no one

  // RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the List-Unsubscribe URL.
  const std::string list_unsubscribe = header(w.smtp.messages()[0].raw, "List-Unsubscribe");
  CHECK(list_unsubscribe == "<https://t.acme.example" + unsubscribe + ">");
  CHECK(nurture::testing::http_request(port, "POST", unsubscribe, "List-Unsubscribe=One-Click",
                                       {{"Content-Type", "application/x-www-form-urlencoded"}})
            .status == 200);
  engine.drain();
  CHECK(store->load_lead("L1").suppressed.count("email") == 1);
  w.clock.advance(hours(48));
  engine.drain();
  CHECK(w.smtp.messages().size() == 1);  // the second email is not sent
  CHECK(w.stat("L1", "step:tips:skipped") == "1");
}

TEST_CASE("a handler that throws costs that request a 500, not the server") {
  Metrics metrics;
  auto server = http::StatusServer::start("127.0.0.1:0", metrics, [](const http::HttpCall& call) -> std::optional<http::HttpAnswer> {
    if (call.target == "/boom") throw std::runtime_error("a bug");
    return http::HttpAnswer{200, "fine\n"};
  });
  REQUIRE(server);
  const int port = (*server)->port();
  CHECK(nurture::testing::http_request(port, "GET", "/boom").status == 500);
  CHECK(nurture::testing::http_request(port, "GET", "/other").body == "fine\n");
  CHECK(nurture::testing::http_get(port, "/healthz").status == 200);
}

TEST_CASE("a timer whose firing fails is dead-lettered once, not retried on every pass") {
  World w;
  auto store = w.store();
  Engine engine(*store, w.campaign, *w.templates, *w.connectors, w.clock, w.retry);
  w.emit(*store, "lead.created", "L9", {{"email", "ana@example.com"}});
  engine.drain();  // the first email, and a timer for the second in 2 days
  // Then something breaks the lead's data: every commit for it fails (WRONGTYPE).
  const std::string key = fmt::format("nurture:{{{}}}:lead:L9", partition_of("L9", 4));
  w.redis_command({"DEL", key});
  w.redis_command({"SET", key, "not a hash"});
  w.clock.advance(days(3));
  engine.drain();
  engine.drain();
  auto dead = w.redis_command({"XRANGE", "nurture:events:dead", "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(nurture::testing::stream_field(dead.elements[0], "lead") == "L9");
  CHECK(nurture::testing::stream_field(dead.elements[0], "reason").find("WRONGTYPE") != std::string::npos);
  CHECK(w.redis_command({"ZCARD", fmt::format("nurture:{{{}}}:timers", partition_of("L9", 4))}).integer == 0);
}
