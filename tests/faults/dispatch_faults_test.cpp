// Faults around a send, in-process on a virtual clock against a real Redis: what the daemon does when a connector
// misbehaves, and when an unsubscribe arrives while mail for the address is already on its way.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include <fmt/format.h>

#include "engine/core/identity.hpp"
#include "tests/faults/campaign_setup.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;

namespace {

// A connector whose send throws, as a buggy plugin's might.
class ThrowingConnector final : public sdk::Connector {
 public:
  void send(const sdk::Action&, sdk::Completion) override { throw std::runtime_error("a bug in the connector"); }
};

// A connector that takes every send and never answers, as behind a provider that hangs; it keeps each completion,
// as a connector whose answer comes too late does.
class SilentConnector final : public sdk::Connector {
 public:
  explicit SilentConnector(std::vector<sdk::Completion>& held) : held_(held) {}
  void send(const sdk::Action&, sdk::Completion done) override { held_.push_back(std::move(done)); }

 private:
  std::vector<sdk::Completion>& held_;
};

}  // namespace

TEST_CASE("a connector that never answers costs the action a retry after the deadline, then the dead-letter stream") {
  std::vector<sdk::Completion> held;
  testing::FaultCampaign s("{ type: silent }", [&held](sdk::Registry& registry) {
    registry.add({"silent", "never answers", {}, [&held](const sdk::ConnectorConfig&) -> sdk::Created {
                    return std::unique_ptr<sdk::Connector>(new SilentConnector(held));
                  }});
  });
  RetryPolicy policy{2, seconds(10), minutes(10)};
  policy.answer_within = milliseconds(300);
  Engine engine(*s.store, s.campaign, *s.library, *s.connectors, s.clock, policy);
  s.emit("lead.created", "L1", R"({"email":"ana@example.com"})");
  const auto started = steady_clock::now();
  engine.drain();
  CHECK(s.stat("step:hello:retried") == 1);
  s.clock.advance(minutes(1));
  engine.drain();
  CHECK(steady_clock::now() - started < seconds(10));  // two deadlines, not a hang
  CHECK(s.stat("step:hello:failed") == 1);
  REQUIRE(held.size() == 2);
  const int p = partition_of("L1", 2);
  auto dead = s.redis.connect()->command({"XRANGE", fmt::format("nurture:{{{}}}:outbox:dead", p), "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(testing::stream_field(dead.elements[0], "reason").find("did not answer in time") != std::string::npos);
  // The answers arrive at last, after the dispatcher gave up: they write into state that is still alive (no
  // use-after-free under the sanitizers) and change nothing.
  for (auto& done : held) done(sdk::Result::sent("late"));
  engine.drain();
  CHECK(s.stat("step:hello:sent") == 0);
  CHECK(s.stat("step:hello:failed") == 1);
}

TEST_CASE("an unsubscribe stops mail already queued for its address, for every lead that shares it") {
  testing::FaultCampaign s("{ type: file, dir: ./outbox, rate: \"1/m\" }");
  Engine engine(*s.store, s.campaign, *s.library, *s.connectors, s.clock, RetryPolicy{3, seconds(10), minutes(10)});
  s.emit("lead.created", "L1", R"({"email":"ana@example.com"})");
  engine.drain();
  REQUIRE(s.stat("step:hello:sent") == 1);
  s.emit("lead.created", "L2", R"({"email":"Ana@Example.com"})");  // the same person, written otherwise
  engine.drain();
  REQUIRE(s.stat("step:hello:sent") == 1);  // held by the rate: queued, on its way
  s.emit("lead.unsubscribed", "L1");
  engine.drain();
  CHECK(s.redis.connect()->command({"SISMEMBER", "nurture:suppress:email", "ana@example.com"}).integer == 1);
  s.clock.advance(minutes(2));
  engine.drain();
  CHECK(s.stat("step:hello:sent") == 1);     // before the fix, L2's email went out here
  CHECK(s.stat("step:hello:skipped") == 1);  // suppressed at dispatch
}

TEST_CASE("a connector that throws costs the action a retry, then the dead-letter stream, the engine goes on") {
  testing::FaultCampaign s("{ type: throwing }", [](sdk::Registry& registry) {
    registry.add({"throwing", "throws on every send", {}, [](const sdk::ConnectorConfig&) -> sdk::Created {
                    return std::unique_ptr<sdk::Connector>(new ThrowingConnector);
                  }});
  });
  Engine engine(*s.store, s.campaign, *s.library, *s.connectors, s.clock, RetryPolicy{2, seconds(10), minutes(10)});
  s.emit("lead.created", "L1", R"({"email":"ana@example.com"})");
  engine.drain();
  CHECK(s.stat("step:hello:failed") == 0);  // first attempt: a retry
  s.clock.advance(minutes(1));
  engine.drain();
  CHECK(s.stat("step:hello:failed") == 1);
  const int p = partition_of("L1", 2);
  auto dead = s.redis.connect()->command({"XRANGE", fmt::format("nurture:{{{}}}:outbox:dead", p), "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(testing::stream_field(dead.elements[0], "reason").find("the connector threw: a bug in the connector") !=
        std::string::npos);
}

TEST_CASE("dispatch_reclaimed counts only sends that may have happened before a crash, not claims alone") {
  testing::FaultCampaign s("{ type: file, dir: ./outbox }");
  for (int i = 0; i < 6; ++i) s.emit("lead.created", "L" + std::to_string(i), fmt::format(R"({{"email":"l{}@example.com"}})", i));
  {
    Engine ingest_only(*s.store, s.campaign, *s.library, *s.connectors, s.clock);
    ingest_only.run_state_once(milliseconds(0));  // the leads are enrolled, six emails in the outboxes
  }
  // A dispatcher claims a batch and dies before sending any of it; then one that had handed two over dies.
  auto batch = s.store->read_outbox(10);
  REQUIRE(batch.size() == 6);
  s.store->check_and_claim(batch);
  s.store->mark_sending({&batch[0], &batch[1]});
  auto restarted = s.open_store();
  Engine engine(*restarted, s.campaign, *s.library, *s.connectors, s.clock);
  engine.drain();
  CHECK(s.stat("step:hello:sent") == 6);
  CHECK(s.stat("dispatch_reclaimed") == 2);  // it was 6 before: every claim of the batch counted
}

namespace {
// A mail server that takes each connection and resets it at once (SO_LINGER 0), until told to stop.
class ResettingServer {
 public:
  ResettingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t length = sizeof(address);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (true) {
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) return;  // closed: stopping
        const linger reset{1, 0};
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
        ::close(client);
        ++resets;
      }
    });
  }
  ~ResettingServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::atomic<int> resets{0};

 private:
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};
}  // namespace

TEST_CASE("a mail server that resets every connection: retries with backoff, then the dead-letter stream") {
  ResettingServer server;
  testing::FaultCampaign s(fmt::format("{{ type: smtp, url: \"smtp://127.0.0.1:{}\", timeout_ms: 2000 }}",
                                       server.port()));
  Engine engine(*s.store, s.campaign, *s.library, *s.connectors, s.clock, RetryPolicy{3, seconds(10), minutes(10)});
  s.emit("lead.created", "L1", R"({"email":"ana@example.com"})");
  engine.drain();
  for (int attempt = 2; attempt <= 3; ++attempt) {
    CHECK(s.stat("step:hello:failed") == 0);
    s.clock.advance(minutes(20));
    engine.drain();
  }
  CHECK(s.stat("step:hello:failed") == 1);
  CHECK(s.stat("step:hello:retried") == 2);
  CHECK(server.resets >= 3);
  const int p = partition_of("L1", 2);
  auto dead = s.redis.connect()->command({"XRANGE", fmt::format("nurture:{{{}}}:outbox:dead", p), "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  CHECK(testing::stream_field(dead.elements[0], "reason").rfind("gave up after 3 attempts: smtp: ", 0) == 0);
}

TEST_CASE("a full disk under the file connector: the send is retried, leaves nothing behind, and goes once space returns") {
  testing::FaultCampaign s("{ type: file, dir: ./outbox }");
  Engine engine(*s.store, s.campaign, *s.library, *s.connectors, s.clock, RetryPolicy{5, seconds(10), minutes(10)});
  const std::filesystem::path outbox = s.dir / "campaign/outbox";
  std::filesystem::create_directories(outbox);
  // The connector writes `.NAME.PID.tmp` first: pointed at /dev/full, every write fails with ENOSPC, as on a full disk.
  const std::string name = action_id("L1", "welcome", 1, 1, "hello", 1) + ".eml";
  std::filesystem::create_symlink("/dev/full", outbox / fmt::format(".{}.{}.tmp", name, ::getpid()));
  s.emit("lead.created", "L1", R"({"email":"ana@example.com"})");
  engine.drain();
  CHECK(s.stat("step:hello:retried") == 1);
  CHECK(s.stat("step:hello:sent") == 0);
  CHECK(s.stat("step:hello:failed") == 0);
  // The partial file is gone (here: the link to /dev/full, so the disk has room again).
  std::size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(outbox)) {
    ++entries;
    INFO(entry.path().filename().string());
  }
  CHECK(entries == 0);
  s.clock.advance(minutes(20));
  engine.drain();
  CHECK(s.stat("step:hello:sent") == 1);
  CHECK(std::filesystem::exists(outbox / name));
}
