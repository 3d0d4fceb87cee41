#include <doctest/doctest.h>

#include "connectors/builtins.hpp"
#include "connectors/smtp/smtp_connector.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using nurture::testing::SmtpSink;
using nurture::testing::TempDir;

namespace {
std::unique_ptr<sdk::Connector> smtp_connector(const std::string& url) {
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  std::vector<sdk::ConfigProblem> problems;
  auto connector = registry.create("smtp", "smtp_main", {{"url", url}, {"timeout_ms", "5000"}}, "/", problems);
  REQUIRE(connector);
  return connector;
}

sdk::Action email_to(const std::string& to, const std::string& id) {
  sdk::Action action;
  action.action_id = id;
  action.email.from = "Acme <hello@acme.example>";
  action.email.to = to;
  action.email.mime = "From: Acme <hello@acme.example>\r\nTo: " + to + "\r\nSubject: hi " + id +
                      "\r\nMessage-ID: <" + id + "@acme.example>\r\n\r\n.leading dot\r\nbody\r\n";
  return action;
}

sdk::Result send_now(sdk::Connector& connector, const sdk::Action& action) {
  sdk::Result result;
  connector.send(action, [&](sdk::Result r) { result = std::move(r); });
  return result;
}
}  // namespace

TEST_CASE("the smtp connector delivers the message as composed, on one reused connection") {
  TempDir dir;
  SmtpSink sink(dir / "mail");
  auto connector = smtp_connector(sink.url());
  CHECK(send_now(*connector, email_to("ana@example.com", "a1")).kind == sdk::Result::Kind::sent);
  CHECK(send_now(*connector, email_to("bo@example.com", "a2")).kind == sdk::Result::Kind::sent);
  auto mails = sink.messages();
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].mail_from == "hello@acme.example");
  CHECK(mails[0].rcpt_to == std::vector<std::string>{"ana@example.com"});
  CHECK(mails[0].raw.find("Message-ID: <a1@acme.example>\r\n") != std::string::npos);
  CHECK(mails[0].raw.find("\r\n.leading dot\r\nbody\r\n") != std::string::npos);  // dot-stuffing undone
  CHECK(mails[1].rcpt_to == std::vector<std::string>{"bo@example.com"});
}

TEST_CASE("SMTP replies map to results: 550 5.1.1 suppressed, 4xx retry") {
  TempDir dir;
  SmtpSink sink(dir / "mail");
  auto connector = smtp_connector(sink.url());
  auto unknown = send_now(*connector, email_to("nosuchuser@example.com", "b1"));
  CHECK(unknown.kind == sdk::Result::Kind::suppressed);
  CHECK(unknown.reason.find("550") != std::string::npos);
  auto busy = send_now(*connector, email_to("busy@example.com", "b2"));
  CHECK(busy.kind == sdk::Result::Kind::retry);
  CHECK(busy.reason.find("451") != std::string::npos);
  CHECK(sink.messages().empty());
  // The connection survives refusals: the next message goes through.
  CHECK(send_now(*connector, email_to("ana@example.com", "b3")).kind == sdk::Result::Kind::sent);
}

TEST_CASE("an unreachable SMTP server is a retry, not a failure") {
  auto connector = smtp_connector("smtp://127.0.0.1:" + std::to_string(nurture::testing::free_tcp_port()));
  auto result = send_now(*connector, email_to("ana@example.com", "c1"));
  CHECK(result.kind == sdk::Result::Kind::retry);
  CHECK(result.after > std::chrono::milliseconds(0));
}

TEST_CASE("reply classification: 5xx failed unless the mailbox does not exist") {
  CHECK(connectors::classify_smtp_reply(554, "5.7.1 rejected").kind == sdk::Result::Kind::failed);
  CHECK(connectors::classify_smtp_reply(550, "5.1.1 no such user").kind == sdk::Result::Kind::suppressed);
  CHECK(connectors::classify_smtp_reply(421, "4.7.0 slow down").kind == sdk::Result::Kind::retry);
}
