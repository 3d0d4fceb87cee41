// The engine's loops (ingest, timers, dispatch) on the memory store and a virtual clock: what the engine decides
// around a send, with no Redis and no sleeping. What Redis adds (crashes, other engines, its faults) is tested in
// tests/integration and tests/faults.
#include <doctest/doctest.h>

#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include "connectors/builtins.hpp"
#include "engine/core/identity.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/store/memory/memory_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;

namespace {

const char* config = R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
partitions: 2
connectors:
  outbox: { type: file, dir: ./outbox, rate: "2/m" }
)";

const char* drip = R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - wait: 2d
  - id: tips
    email: { template: welcome }
)";

// A campaign of one workflow sending through the file connector, run by one engine on the memory store.
struct EngineOnMemory {
  testing::TempDir dir;
  workflows::Campaign campaign;
  std::unique_ptr<templates::TemplateLibrary> library;
  sdk::Registry registry;
  std::unique_ptr<ConnectorSet> connectors;
  VirtualClock clock{sys_days{year{2026} / March / 2} + hours(9)};
  memory::MemoryStore store{clock, memory::MemoryStoreOptions{2, "t", hours(24)}};
  std::unique_ptr<Engine> engine;

  EngineOnMemory(const std::string& workflow, RetryPolicy retry, const char* config_text = config,
                 const std::string& email_body = "<p>Hi</p>") {
    testing::write_campaign(dir / "campaign", {config_text, {{"welcome", workflow}},
                                               {{"welcome", testing::email_template("Hi", email_body)}}});
    campaign = testing::load_campaign_or_fail(dir / "campaign");
    library = std::make_unique<templates::TemplateLibrary>(campaign.templates_dir);
    connectors::register_builtin_connectors(registry);
    auto made = ConnectorSet::create(campaign.config, registry);
    REQUIRE(made);
    connectors = std::make_unique<ConnectorSet>(std::move(*made));
    engine = std::make_unique<Engine>(store, campaign, *library, *connectors, clock, retry);
  }
  void created(const std::string& lead) {
    store.add_event({{"type", "lead.created"}, {"lead", lead}, {"attrs", R"({"email":")" + lead + R"(@example.com"})"}});
  }
  long counted(const std::string& field) {
    const auto counters = store.workflow_counters("welcome");
    auto it = counters.find(field);
    return it == counters.end() ? 0 : it->second;
  }
  long files() {
    const auto outbox = dir / "campaign/outbox";
    if (!std::filesystem::exists(outbox)) return 0;
    return std::distance(std::filesystem::directory_iterator(outbox), std::filesystem::directory_iterator{});
  }
};

}  // namespace

TEST_CASE("a connector's `rate` holds sends back until tokens return, held sends spend no attempt") {
  // One attempt only: were a held send counted as an attempt, the third lead would be dead-lettered.
  EngineOnMemory f(drip, RetryPolicy{1, seconds(10), minutes(10)});
  for (int i = 0; i < 5; ++i) f.created("L" + std::to_string(i));
  f.engine->drain();
  CHECK(f.counted("step:hello:sent") == 2);
  f.clock.advance(seconds(31));  // one token back (the held sends are due 30 s after the first try)
  f.engine->drain();
  CHECK(f.counted("step:hello:sent") == 3);
  f.clock.advance(minutes(2));
  f.engine->drain();
  CHECK(f.counted("step:hello:sent") == 5);
  CHECK(f.counted("step:hello:failed") == 0);
  CHECK(f.counted("step:hello:deferred") >= 3);
  CHECK(f.files() == 5);
  CHECK(f.store.dead_actions().empty());
}

TEST_CASE("a connector's own `max_attempts` bounds its retries, before the engine's default") {
  // Nothing listens on port 1: every attempt is a transient failure (retry).
  const char* closed = R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: smtp_main }
partitions: 2
connectors:
  smtp_main: { type: smtp, url: "smtp://127.0.0.1:1", max_attempts: 1 }
)";
  EngineOnMemory f(drip, RetryPolicy{5, seconds(1), seconds(1)}, closed);
  f.created("L1");
  for (int i = 0; i < 5 && f.counted("step:hello:failed") == 0; ++i) {
    f.engine->drain();
    f.clock.advance(seconds(2));
  }
  CHECK(f.counted("step:hello:failed") == 1);
  CHECK(f.counted("step:hello:retried") == 0);  // the engine's 5 would have retried it 4 times
  REQUIRE(f.store.dead_actions().size() == 1);
}

TEST_CASE("a drip on the engine: the first email at once, the second after the wait, none after an unsubscribe") {
  EngineOnMemory f(drip, RetryPolicy{});
  f.created("ana");
  f.created("bo");
  f.engine->drain();
  CHECK(f.counted("step:hello:sent") == 2);
  f.store.add_event({{"type", "lead.unsubscribed"}, {"lead", "bo"}});
  f.clock.advance(hours(47));
  f.engine->drain();
  CHECK(f.counted("step:tips:sent") == 0);  // not yet due
  f.clock.advance(hours(1) + minutes(2));
  f.engine->drain();
  CHECK(f.counted("step:tips:sent") == 1);
  CHECK(f.files() == 3);
  CHECK(f.store.leads().at("bo").suppressed.count("email") == 1);
  CHECK(f.store.is_suppressed("email", "bo@example.com"));  // the unsubscribe reaches the address, too
  CHECK(f.store.dead_events().empty());
}

TEST_CASE("an email and a webhook for the same lead both carry its attributes") {
  // The email's rendering takes the lead's attributes for its own; the webhook's body must still have them.
  const char* email_then_webhook = R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - id: sync
    webhook: { connector: outbox }
)";
  EngineOnMemory f(email_then_webhook, RetryPolicy{}, config, "<p>Hi {{lead.email}}</p>");
  f.created("ana");
  f.engine->drain();
  REQUIRE(f.files() == 2);
  std::string eml, json;
  for (const auto& file : std::filesystem::directory_iterator(f.dir / "campaign/outbox")) {
    (file.path().extension() == ".eml" ? eml : json) = testing::read_file(file.path());
  }
  CHECK(eml.find("Hi ana@example.com") != std::string::npos);
  CHECK(nlohmann::json::parse(json)["lead"]["attrs"]["email"] == "ana@example.com");
}

TEST_CASE("a malformed event is dead-lettered with its reason, on the memory store as on Redis") {
  EngineOnMemory f(drip, RetryPolicy{});
  f.store.add_event({{"type", "lead.created"}});  // no lead
  f.created("ana");
  f.engine->drain();
  REQUIRE(f.store.dead_events().size() == 1);
  CHECK(f.store.dead_events()[0].reason.find("lead") != std::string::npos);
  CHECK(f.counted("step:hello:sent") == 1);
}

namespace {

const char* unlimited = R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
partitions: 2
connectors:
  outbox: { type: file, dir: ./outbox }
)";

const char* late_drip = R"(workflow: welcome
trigger: { event: lead.created }
max_late: 1d
steps:
  - id: hello
    email: { template: welcome }
  - wait: 2d
  - id: tips
    email: { template: welcome }
  - wait: 5d
  - id: last
    email: { template: welcome }
)";

const char* waits_for_a_visit = R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - wait_for: { event: page.viewed, timeout: 30d }
  - id: hello
    email: { template: welcome }
)";

void pause(EngineOnMemory& f) {
  f.store.pause_workflow("welcome", f.clock.now());
  f.engine->refresh_paused();
}
void resume(EngineOnMemory& f) {
  f.store.resume_workflow("welcome");
  f.engine->refresh_paused();
}

}  // namespace

TEST_CASE("a paused workflow enrolls no one, its timers wait, and on resume a send late by less than max_late goes") {
  EngineOnMemory f(late_drip, RetryPolicy{}, unlimited);
  f.created("ana");
  f.engine->drain();
  REQUIRE(f.counted("step:hello:sent") == 1);
  pause(f);
  f.created("bo");
  f.clock.advance(hours(48) + minutes(1));
  f.engine->drain();
  CHECK(f.counted("entered") == 1);          // bo was not enrolled
  CHECK(f.counted("step:tips:reached") == 0);  // ana's timer fell due and waits
  f.clock.advance(hours(12));
  f.engine->drain();
  CHECK(f.counted("step:tips:reached") == 0);
  resume(f);
  f.engine->drain();
  CHECK(f.counted("step:tips:sent") == 1);  // 12 hours late, within max_late (1d)
  CHECK(f.files() == 2);
  // The next wait counts from when the step ran, not from when it was due.
  f.clock.advance(days(5) + minutes(1));
  f.engine->drain();
  CHECK(f.counted("step:last:sent") == 1);
}

TEST_CASE("a send later than its workflow's max_late after a resume is skipped, and the lead goes on") {
  EngineOnMemory f(late_drip, RetryPolicy{}, unlimited);
  f.created("ana");
  f.engine->drain();
  pause(f);
  f.clock.advance(hours(48) + days(3));
  f.engine->drain();
  resume(f);
  f.engine->drain();
  CHECK(f.counted("step:tips:sent") == 0);
  CHECK(f.counted("step:tips:skipped") == 1);  // reason `late`
  CHECK(f.files() == 1);
  f.clock.advance(days(5) + minutes(1));
  f.engine->drain();
  CHECK(f.counted("step:last:sent") == 1);
  CHECK(f.files() == 2);
}

TEST_CASE("an action planned while its workflow is paused is held by the dispatcher and sent on resume") {
  EngineOnMemory f(waits_for_a_visit, RetryPolicy{}, unlimited);
  f.created("ana");
  f.engine->drain();
  pause(f);
  f.store.add_event({{"type", "page.viewed"}, {"lead", "ana"}});  // events still move enrolled leads on
  f.engine->drain();
  CHECK(f.counted("step:hello:reached") == 1);
  CHECK(f.counted("step:hello:sent") == 0);
  CHECK(f.files() == 0);
  f.clock.advance(hours(1));
  f.engine->drain();
  CHECK(f.files() == 0);
  resume(f);
  f.engine->drain();
  CHECK(f.counted("step:hello:sent") == 1);
  CHECK(f.files() == 1);
}

TEST_CASE("a lead removed from a workflow exits it with reason removed and gets nothing more from it") {
  EngineOnMemory f(late_drip, RetryPolicy{}, unlimited);
  f.created("ana");
  f.engine->drain();
  const LeadSnapshot before = f.store.load_lead("ana");
  const Interpreter interpreter(f.campaign);
  const Transition removed = interpreter.remove_from(before, "welcome", f.clock.now());
  REQUIRE(removed.timeline.size() == 1);
  CHECK(removed.timeline[0].kind == "exited");
  CHECK(removed.timeline[0].detail().reason == "removed");
  CHECK(removed.timers_to_remove.size() == 1);
  REQUIRE(f.store.commit(before, removed, "", "") == CommitOutcome::committed);
  CHECK(interpreter.remove_from(f.store.load_lead("ana"), "welcome", f.clock.now()).timeline.empty());
  f.clock.advance(days(10));
  f.engine->drain();
  CHECK(f.counted("exited") == 1);
  CHECK(f.counted("step:tips:reached") == 0);
  CHECK(f.files() == 1);
}

TEST_CASE("the log says one line per send, skip and stage change, with the action id and no full address") {
  auto captured = std::make_shared<std::ostringstream>();
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(*captured)));
  {
    EngineOnMemory f(R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - set: { stage: interest }
)",
                     RetryPolicy{}, unlimited);
    f.created("ana");
    f.store.add_event({{"type", "lead.created"}, {"lead", "nomail"}});
    f.engine->drain();
  }
  spdlog::set_default_logger(previous);
  const std::string log = captured->str();
  INFO(log);
  CHECK(log.find("sent action=" + action_id("ana", "welcome", 1, 1, "hello", 1) +
                 " workflow=welcome step=hello connector=outbox to=a***@example.com") != std::string::npos);
  CHECK(log.find("skipped lead=nomail workflow=welcome step=hello reason=no_address") != std::string::npos);
  CHECK(log.find("stage lead=ana from=none to=interest") != std::string::npos);
  CHECK(log.find("ana@example.com") == std::string::npos);
}

TEST_CASE("a scheduled post is published once per connector at its time, by any number of engines, never stale") {
  const char* config_text = R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
connectors:
  outbox: { type: file, dir: ./outbox }
  social: { type: file, dir: ./social }
  mastodon: { type: null }
)";
  testing::TempDir dir;
  testing::write_campaign(dir / "campaign", {config_text, {{"welcome", drip}},
                                             {{"welcome", testing::email_template("Hi", "<p>Hi</p>")}}});
  testing::write_file(dir / "campaign/templates/teaser.mustache", "Spring is here for {{sender.from}}");
  testing::write_file(dir / "campaign/posts/teaser.yaml",
                      "post: teaser\nat: \"2026-03-02T10:00:00Z\"\nconnectors: [social, mastodon]\ntemplate: teaser\n");
  testing::write_file(dir / "campaign/posts/old.yaml",
                      "post: old\nat: \"2026-02-27T10:00:00Z\"\nconnectors: [social]\ntemplate: teaser\n");
  const auto campaign = testing::load_campaign_or_fail(dir / "campaign");
  const templates::TemplateLibrary library(campaign.templates_dir);
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto connectors = ConnectorSet::create(campaign.config, registry);
  REQUIRE(connectors);
  VirtualClock clock{sys_days{year{2026} / March / 2} + hours(9)};
  memory::MemoryStore store{clock, memory::MemoryStoreOptions{2, "t", hours(24)}};
  const auto social_files = [&] {
    const auto folder = dir / "campaign/social";
    return std::filesystem::exists(folder) ? std::distance(std::filesystem::directory_iterator(folder),
                                                           std::filesystem::directory_iterator{})
                                           : 0;
  };
  {
    Engine engine(store, campaign, library, *connectors, clock);
    engine.drain();
    CHECK(store.post_states() == std::map<std::string, std::string>{{"old:social", "k:late"}});
    CHECK(social_files() == 0);
    clock.advance(hours(1));
    engine.drain();
  }
  const auto states = store.post_states();
  CHECK(states.at("teaser:social") == "s:" + post_action_id("teaser", "social") + ".json");
  CHECK(states.at("teaser:mastodon") == "s:null");
  REQUIRE(social_files() == 1);
  CHECK(testing::read_file(dir / "campaign/social" / (post_action_id("teaser", "social") + ".json")) ==
        "Spring is here for Acme <hello@acme.example>");
  Engine another(store, campaign, library, *connectors, clock);  // a restart, or a second engine
  clock.advance(seconds(5));
  another.drain();
  CHECK(social_files() == 1);
  CHECK(store.workflow_counters("~posts").at("step:teaser:sent") == 2);
  CHECK(store.read_events(10, milliseconds(0)).empty());  // a post raises no event for a lead
}

// A welcome email an hour after a lead is created.
const char* const waits_an_hour = R"(workflow: welcome
trigger: { event: lead.created }
steps:
  - wait: 1h
  - id: later
    email: { template: welcome }
)";

TEST_CASE("timers that fell due together fire in one pass of the state loop, before its next batch of events") {
  EngineOnMemory f(waits_an_hour, RetryPolicy{});
  for (int i = 0; i < 1500; ++i) f.created(fmt::format("lead-{}", i));
  while (f.engine->run_state_once(milliseconds(0)) > 0) {
  }
  REQUIRE(f.counted("entered") == 1500);
  f.clock.advance(hours(1));
  f.created("late-comer");  // an event waiting behind them
  // Several batches are due (a batch is up to 256 a partition, 2 partitions here): the pass fires them all (up to 4
  // batches) before it reads events, not one batch before them and one after.
  f.engine->run_state_once(milliseconds(0));
  CHECK(f.counted("step:later:reached") == 1500);
}

TEST_CASE("while timers fire, the state loop reads a shorter batch of events, so that timers falling due wait less") {
  EngineOnMemory f(waits_an_hour, RetryPolicy{});
  for (int i = 0; i < 10; ++i) f.created(fmt::format("waiting-{}", i));
  f.engine->drain();
  REQUIRE(f.counted("entered") == 10);
  f.clock.advance(hours(1));
  for (int i = 0; i < 300; ++i) f.created(fmt::format("new-{}", i));
  f.engine->run_state_once(milliseconds(0));  // timers fired: a short batch of events
  CHECK(f.counted("step:later:reached") == 10);
  CHECK(f.counted("entered") == 10 + Ingest::batch_while_timers_fire);
  f.engine->run_state_once(milliseconds(0));  // none due: a full batch, the rest
  CHECK(f.counted("entered") == 310);
}
