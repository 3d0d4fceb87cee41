#include <doctest/doctest.h>

#include <unistd.h>

#include <fmt/format.h>

#include "connectors/file/file_connector.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using nurture::testing::read_file;
using nurture::testing::TempDir;

namespace {
sdk::Result send_now(sdk::Connector& connector, const sdk::Action& action) {
  sdk::Result result;
  connector.send(action, [&](sdk::Result r) { result = std::move(r); });
  return result;
}
}  // namespace

TEST_CASE("the file connector writes one .eml per email action, named by action id, and counts duplicates") {
  TempDir dir;
  connectors::FileConnector connector(dir / "outbox");
  sdk::Action action;
  action.action_id = "abc123";
  action.email.mime = "Subject: hi\r\n\r\nbody\r\n";
  auto first = send_now(connector, action);
  CHECK(first.kind == sdk::Result::Kind::sent);
  CHECK(first.provider_id == "abc123.eml");
  CHECK(read_file(dir / "outbox/abc123.eml") == action.email.mime);

  action.email.mime = "Subject: changed\r\n\r\n";
  auto second = send_now(connector, action);
  CHECK(second.kind == sdk::Result::Kind::sent);
  CHECK(connector.duplicates() == 1);
  CHECK(read_file(dir / "outbox/abc123.eml") == "Subject: hi\r\n\r\nbody\r\n");  // the first delivery stands

  sdk::Action webhook;
  webhook.action_id = "def456";
  webhook.channel = sdk::Channel::webhook;
  webhook.json_body = "{\"a\":1}";
  CHECK(send_now(connector, webhook).provider_id == "def456.json");
  CHECK(read_file(dir / "outbox/def456.json") == "{\"a\":1}");
}

TEST_CASE("the file connector removes temporary files a killed writer left behind") {
  TempDir dir;
  nurture::testing::write_file(dir / "outbox/.abc.eml.999999.tmp", "half a message");  // no such process
  nurture::testing::write_file(dir / "outbox/.def.eml.1.tmp", "a live writer's");       // pid 1 is alive
  connectors::FileConnector connector(dir / "outbox");
  sdk::Action action;
  action.action_id = "xyz";
  send_now(connector, action);
  CHECK_FALSE(std::filesystem::exists(dir / "outbox/.abc.eml.999999.tmp"));
  CHECK(std::filesystem::exists(dir / "outbox/.def.eml.1.tmp"));
  CHECK(std::filesystem::exists(dir / "outbox/xyz.eml"));
}

TEST_CASE("on a full disk the file connector answers retry with the system's reason and leaves no partial file") {
  TempDir dir;
  std::filesystem::create_directories(dir / "outbox");
  // Its temporary file pointed at /dev/full: every write fails with ENOSPC.
  std::filesystem::create_symlink("/dev/full", dir / fmt::format("outbox/.full.eml.{}.tmp", ::getpid()));
  connectors::FileConnector connector(dir / "outbox");
  sdk::Action action;
  action.action_id = "full";
  action.email.mime = "Subject: hi\r\n\r\nbody\r\n";
  const sdk::Result result = send_now(connector, action);
  CHECK(result.kind == sdk::Result::Kind::retry);
  CHECK(result.reason.find("No space left on device") != std::string::npos);
  CHECK(std::filesystem::is_empty(dir / "outbox"));
}
