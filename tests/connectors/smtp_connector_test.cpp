#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <map>
#include <set>

#include "connectors/builtins.hpp"
#include "connectors/smtp/smtp_connector.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using nurture::testing::SmtpSink;
using nurture::testing::TempDir;
using nurture::testing::SmtpSinkOptions;

namespace {
std::unique_ptr<sdk::Connector> smtp_connector(const std::string& url,
                                               std::map<std::string, std::string> extra = {}) {
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  extra["url"] = url;
  extra.emplace("timeout_ms", "5000");
  auto connector = registry.create("smtp", "smtp_main", extra, "/");
  REQUIRE_MESSAGE(connector, (connector ? "" : connector.error().front().format()));
  return std::move(*connector);
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

// The connector answers from its own worker: wait for it.
sdk::Result send_now(sdk::Connector& connector, const sdk::Action& action) {
  auto promise = std::make_shared<std::promise<sdk::Result>>();
  auto answer = promise->get_future();
  connector.send(action, [promise](sdk::Result r) { promise->set_value(std::move(r)); });
  REQUIRE(answer.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  return answer.get();
}
}  // namespace

TEST_CASE("the smtp connector delivers the message as composed, on one reused connection") {
  TempDir dir;
  SmtpSink sink(dir / "mail");
  auto connector = smtp_connector(sink.url(), {{"pool", "1"}});
  CHECK(send_now(*connector, email_to("ana@example.com", "a1")).kind == sdk::Result::Kind::sent);
  CHECK(send_now(*connector, email_to("bo@example.com", "a2")).kind == sdk::Result::Kind::sent);
  auto mails = sink.messages();
  REQUIRE(mails.size() == 2);
  CHECK(mails[0].mail_from == "hello@acme.example");
  CHECK(mails[0].rcpt_to == std::vector<std::string>{"ana@example.com"});
  CHECK(mails[0].raw.find("Message-ID: <a1@acme.example>\r\n") != std::string::npos);
  CHECK(mails[0].raw.find("\r\n.leading dot\r\nbody\r\n") != std::string::npos);  // dot-stuffing undone
  CHECK(mails[1].rcpt_to == std::vector<std::string>{"bo@example.com"});
  CHECK(mails[0].client_port == mails[1].client_port);  // the same connection
  CHECK_FALSE(mails[0].tls);                            // nothing offered STARTTLS; `tls: try` went on in clear
}

TEST_CASE("a pool of connections sends in parallel and reuses each connection") {
  TempDir dir;
  SmtpSink sink(dir / "mail");
  auto connector = smtp_connector(sink.url(), {{"pool", "3"}});
  std::vector<std::future<sdk::Result>> answers;
  for (int i = 0; i < 24; ++i) {
    auto promise = std::make_shared<std::promise<sdk::Result>>();
    answers.push_back(promise->get_future());
    connector->send(email_to("lead" + std::to_string(i) + "@example.com", "p" + std::to_string(i)),
                    [promise](sdk::Result r) { promise->set_value(std::move(r)); });
  }
  for (auto& answer : answers) {
    REQUIRE(answer.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
    CHECK(answer.get().kind == sdk::Result::Kind::sent);
  }
  auto mails = sink.messages();
  REQUIRE(mails.size() == 24);
  std::set<int> connections;
  for (const auto& mail : mails) connections.insert(mail.client_port);
  CHECK(connections.size() >= 1);
  CHECK(connections.size() <= 3);  // never more connections than the pool, however many messages
}

TEST_CASE("STARTTLS and AUTH: required TLS with a verified certificate, then the login") {
  TempDir dir;
  nurture::testing::make_test_certificate(dir / "tls");
  SmtpSink sink(dir / "mail", SmtpSinkOptions{dir / "tls/cert.pem", dir / "tls/key.pem", true, "mailer:s3cret"});
  ::setenv("NURTURE_TEST_SMTP_USER", "mailer", 1);
  ::setenv("NURTURE_TEST_SMTP_PASSWORD", "s3cret", 1);
  auto connector = smtp_connector(sink.url(), {{"tls", "required"},
                                               {"ca_file", (dir / "tls/cert.pem").string()},
                                               {"username_env", "NURTURE_TEST_SMTP_USER"},
                                               {"password_env", "NURTURE_TEST_SMTP_PASSWORD"}});
  CHECK(send_now(*connector, email_to("ana@example.com", "t1")).kind == sdk::Result::Kind::sent);
  auto mails = sink.messages();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].tls);
  CHECK(mails[0].auth == "mailer");

  // A wrong password is refused for good, not retried forever.
  ::setenv("NURTURE_TEST_SMTP_PASSWORD", "wrong", 1);
  auto refused = smtp_connector(sink.url(), {{"tls", "required"},
                                             {"ca_file", (dir / "tls/cert.pem").string()},
                                             {"username_env", "NURTURE_TEST_SMTP_USER"},
                                             {"password_env", "NURTURE_TEST_SMTP_PASSWORD"}});
  auto result = send_now(*refused, email_to("ana@example.com", "t2"));
  INFO(result.reason);
  CHECK(result.kind == sdk::Result::Kind::failed);
  CHECK(result.reason.find("authentication") != std::string::npos);

  // A certificate we cannot verify is not sent to: no CA file, so the system store does not know it.
  auto unverified = smtp_connector(sink.url(), {{"tls", "required"}});
  CHECK(send_now(*unverified, email_to("ana@example.com", "t3")).kind == sdk::Result::Kind::retry);
  CHECK(sink.messages().size() == 1);
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

TEST_CASE("a server that accepts the connection but never answers is a retry after timeout_ms") {
  // A listening socket nobody accepts from: the kernel completes the handshake, no greeting ever comes.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  REQUIRE(::listen(fd, 8) == 0);
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  auto connector = smtp_connector("smtp://127.0.0.1:" + std::to_string(ntohs(address.sin_port)), {{"timeout_ms", "800"}});
  const auto started = std::chrono::steady_clock::now();
  auto result = send_now(*connector, email_to("ana@example.com", "slow1"));
  const auto took = std::chrono::steady_clock::now() - started;
  ::close(fd);
  CHECK(result.kind == sdk::Result::Kind::retry);
  CHECK(took >= std::chrono::milliseconds(700));
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("an envelope address with CR/LF never becomes an SMTP command: the send fails, nothing is relayed") {
  TempDir dir;
  SmtpSink sink(dir / "mail");
  auto connector = smtp_connector(sink.url(), {{"pool", "1"}});
  auto injected = email_to("ok@example.com", "a1");
  injected.email.to = "a@example.com>\r\nDATA\r\nSubject: owned\r\n\r\nspam\r\n.\r\nQUIT";
  const auto result = send_now(*connector, injected);
  CHECK(result.kind == sdk::Result::Kind::failed);
  CHECK(result.reason == "smtp: the To address is not a mail address");
  CHECK(send_now(*connector, email_to("bo@example.com", "a2")).kind == sdk::Result::Kind::sent);
  REQUIRE(sink.messages().size() == 1);  // only the honest one
  CHECK(sink.messages()[0].rcpt_to == std::vector<std::string>{"bo@example.com"});
}

TEST_CASE("a server reply in Latin-1 is kept as valid UTF-8") {
  const auto result = connectors::classify_smtp_reply(550, "550 Benutzer unbekannt \xfc");
  CHECK(result.reason == "smtp 550: 550 Benutzer unbekannt \xef\xbf\xbd");
}

TEST_CASE("a send whose deadline passed while it was queued is not started: the engine retries it instead") {
  TempDir dir;
  SmtpSink sink(dir / "mail");
  auto connector = smtp_connector(sink.url(), {{"pool", "1"}});
  auto late = email_to("ana@example.com", "a1");
  late.deadline = std::chrono::system_clock::now() - std::chrono::seconds(1);
  const auto result = send_now(*connector, late);
  CHECK(result.kind == sdk::Result::Kind::retry);
  CHECK(result.reason == "smtp: its deadline passed while it was queued");
  CHECK(sink.messages().empty());
}
