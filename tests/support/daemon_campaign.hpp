#pragma once
// A campaign run by the real daemon in real processes and real seconds, for the tests that abuse it: two emails per
// lead through the `file` connector, which names each file by action id, so a lost action is a missing file.

#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/core/identity.hpp"
#include "engine/store/redis/redis_connection.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

namespace nurture::testing {

using namespace std::chrono;
namespace fs = std::filesystem;

// Files ending in `extension` in `dir` (0 when there is no such folder): what the file connector delivered (`.eml`
// for email, `.json` for posts and requests).
inline std::size_t files_in(const fs::path& dir, const std::string& extension) {
  std::size_t n = 0;
  if (!fs::exists(dir)) return 0;
  for (const auto& f : fs::directory_iterator(dir)) n += f.path().extension() == extension;
  return n;
}

// Waits up to `timeout` for `count` such files; returns how many there are then.
inline std::size_t wait_for_files(const fs::path& dir, const std::string& extension, std::size_t count,
                                  seconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  while (files_in(dir, extension) < count && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(50));
  return files_in(dir, extension);
}

// Waits until the daemon writing `log` says it runs (it has read its campaign and opened its store); fails the test
// with the log when it exits first or takes over 20 s.
inline void wait_until_running(ChildProcess& daemon, const fs::path& log) {
  const auto deadline = steady_clock::now() + seconds(20);
  while (read_file(log).find("nurture running") == std::string::npos) {
    REQUIRE_MESSAGE(daemon.running(), read_file(log));
    REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(log));
    std::this_thread::sleep_for(milliseconds(20));
  }
}

struct DaemonCampaign {
  TempDir dir;
  fs::path campaign = dir / "campaign";
  int starts = 0;
  int leads = 100;  // L0 ... L{leads-1}, as emit_all adds them

  int status_port = free_tcp_port();

  explicit DaemonCampaign(const std::string& redis = "auto", int leads = 100) : leads(leads) {
    write_campaign(campaign, {fmt::format(R"(redis: "{}"
tracking: {{ listen: "127.0.0.1:{}" }}
partitions: 4
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
defaults: {{ email: outbox }}
connectors:
  outbox: {{ type: file, dir: ./outbox }}
)",
                                          redis, status_port),
                              {{"welcome", two_email_drip("2s")}},
                              {{"welcome", email_template("Hi {{lead.id}}", "<p>hi</p>")},
                               {"tips", email_template("Tips", "<p>tips</p>")}}});
  }

  std::unique_ptr<ChildProcess> start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{NURTURE_BINARY, "run", campaign.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const fs::path log = dir / "daemon.log";
    const auto before = count_in_log(log);
    auto daemon = std::make_unique<ChildProcess>(argv, log);
    const auto deadline = steady_clock::now() + seconds(20);
    while (count_in_log(log) == before) {
      REQUIRE_MESSAGE(daemon->running(), read_file(log));
      REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(log));
      std::this_thread::sleep_for(milliseconds(10));
    }
    return daemon;
  }

  static std::size_t count_in_log(const fs::path& log) {
    const std::string text = read_file(log);
    std::size_t n = 0;
    for (auto pos = text.find("nurture running"); pos != std::string::npos; pos = text.find("nurture running", pos + 1)) ++n;
    return n;
  }

  std::string socket_url() const { return "unix://" + (campaign / ".nurture/redis.sock").string(); }

  void emit_all(const std::string& url) { emit_leads(url, 0, leads); }

  // lead.created for L{first} ... L{first + count - 1}, pipelined.
  static void emit_leads(const std::string& url, int first, int count) {
    auto connection = nurture::engine::redis::RedisConnection::open(url);
    REQUIRE(connection);
    std::vector<nurture::engine::redis::Command> commands;
    for (int i = first; i < first + count; ++i) {
      commands.push_back({"XADD", "nurture:events", "*", "type", "lead.created", "lead", fmt::format("L{}", i),
                          "attrs", fmt::format(R"({{"email":"l{}@example.com"}})", i)});
    }
    for (const auto& reply : (*connection)->pipeline(commands)) REQUIRE_FALSE(reply.is_error());
  }

  std::size_t delivered() const { return files_in(campaign / "outbox", ".eml"); }
  std::size_t wait_delivered(std::size_t count, seconds timeout) const {
    return wait_for_files(campaign / "outbox", ".eml", count, timeout);
  }

  // Every file is the action id of one lead's email at one step: all 2 x leads of them, none else.
  void check_every_action_once() const {
    std::set<std::string> expected;
    for (int i = 0; i < leads; ++i) {
      for (const char* step : {"hello", "tips"}) {
        expected.insert(nurture::engine::action_id(fmt::format("L{}", i), "welcome", 1, 1, step, 1) + ".eml");
      }
    }
    // Only delivered messages: a kill in the middle of a write may leave the connector's hidden temporary file.
    std::set<std::string> found;
    std::string unexpected;
    for (const auto& f : fs::directory_iterator(campaign / "outbox")) {
      const std::string name = f.path().filename().string();
      if (name.front() == '.') continue;
      found.insert(name);
      if (!expected.count(name)) unexpected += name + " ";
    }
    CHECK_MESSAGE(found == expected, "unexpected: " << unexpected << " found " << found.size());
  }
};


}  // namespace nurture::testing
