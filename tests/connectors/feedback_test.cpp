// Bounce and complaint reports: providers' webhooks (signatures made here with the openssl tool, independently of
// the code under test) and mail servers' DSN / ARF messages.
#include <doctest/doctest.h>

#include "connectors/mailgun/mailgun_feedback.hpp"
#include "connectors/postmark/postmark_feedback.hpp"
#include "connectors/sendgrid/sendgrid_feedback.hpp"
#include "connectors/smtp/dsn.hpp"
#include "engine/runtime/feedback_recorder.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

using namespace nurture::connectors;
using namespace nurture::connectors::feedback;
using nurture::engine::fit_to_store;
using namespace nurture::testing;
namespace fs = std::filesystem;

namespace {

std::string shell(const fs::path& dir, const std::string& command) {
  fs::remove(dir / "shell.out");  // run_command appends
  REQUIRE(run_command({"/bin/sh", "-c", command}, dir / "shell.out") == 0);
  std::string out = read_file(dir / "shell.out");
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::string unix_now() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count());
}

// When the reports without a time of their own are read (the tests that sign requests use the real time).
const std::chrono::system_clock::time_point now{std::chrono::seconds(1767225600)};

const char* sendgrid_events = R"([
 {"email":"Ana@Example.com","timestamp":1700000000,"event":"bounce","type":"bounce","status":"5.1.1",
  "reason":"550 5.1.1 no such user","sg_event_id":"ev1","action_id":"a1","lead":"L1","workflow":"welcome","step":"hello"},
 {"email":"bo@example.com","timestamp":1700000001,"event":"spamreport","sg_event_id":"ev2","action_id":"a2","lead":"L2"},
 {"email":"cy@example.com","timestamp":1700000002,"event":"delivered","sg_event_id":"ev3","action_id":"a3","lead":"L3"},
 {"email":"di@example.com","timestamp":1700000003,"event":"bounce","type":"blocked","sg_event_id":"ev4"}
])";

}  // namespace

TEST_CASE("sendgrid: a signed event webhook gives hard bounces and spam reports, a bad signature gives nothing") {
  TempDir dir;
  shell(dir.path(), "openssl ecparam -name prime256v1 -genkey -noout -out " + (dir / "ec.pem").string());
  const std::string public_key =
      shell(dir.path(), "openssl pkey -in " + (dir / "ec.pem").string() + " -pubout -outform DER | base64 -w0");
  const std::string timestamp = unix_now();
  write_file(dir / "signed.txt", timestamp + sendgrid_events);
  const std::string signature = shell(dir.path(), "openssl dgst -sha256 -sign " + (dir / "ec.pem").string() + " " +
                                                      (dir / "signed.txt").string() + " | base64 -w0");
  Headers headers = {{"x-twilio-email-event-webhook-signature", signature},
                     {"x-twilio-email-event-webhook-timestamp", timestamp}};
  const auto now = std::chrono::system_clock::now();

  auto reports = parse_sendgrid_webhook(sendgrid_events, headers, public_key, now);
  REQUIRE_MESSAGE(reports.has_value(), reports.error().message);
  REQUIRE(reports->size() == 2);
  CHECK((*reports)[0].type == "email.bounced");
  CHECK((*reports)[0].address == "ana@example.com");
  CHECK((*reports)[0].action_id == "a1");
  CHECK((*reports)[0].lead == "L1");
  CHECK((*reports)[0].workflow == "welcome");
  CHECK((*reports)[0].reason == "5.1.1 550 5.1.1 no such user");
  CHECK((*reports)[0].event_id == "sendgrid:ev1");
  CHECK((*reports)[1].type == "email.complained");
  CHECK((*reports)[1].lead == "L2");

  std::string tampered = sendgrid_events;
  tampered.replace(tampered.find("Ana@"), 3, "Eve");
  CHECK(parse_sendgrid_webhook(tampered, headers, public_key, now).error().message == "bad signature");
  CHECK(parse_sendgrid_webhook(sendgrid_events, {}, public_key, now).error().message == "unsigned request");
  CHECK(parse_sendgrid_webhook(sendgrid_events, headers, public_key, now + std::chrono::hours(1)).error().message ==
        "stale timestamp (replayed?)");
  CHECK_FALSE(parse_sendgrid_webhook(sendgrid_events, headers, "", now).has_value());
  CHECK(parse_sendgrid_webhook(tampered, headers, public_key, now).error().kind == FeedbackError::Kind::unauthorized);
  CHECK(parse_report_message("Subject: hi\r\n\r\nhello", now).error().kind == FeedbackError::Kind::malformed);
}

TEST_CASE("mailgun: HMAC-signed webhooks, permanent failures and complaints count, temporary ones do not") {
  TempDir dir;
  const std::string timestamp = unix_now();
  const std::string token = "f0e1d2c3b4a5968778695a4b3c2d1e0f";
  const std::string signature =
      shell(dir.path(), "printf %s '" + timestamp + token + "' | openssl dgst -sha256 -hmac signing-key -r | cut -d' ' -f1");
  auto webhook = [&](const std::string& event_data, const std::string& sig) {
    return R"({"signature":{"timestamp":")" + timestamp + R"(","token":")" + token + R"(","signature":")" + sig +
           R"("},"event-data":)" + event_data + "}";
  };
  const std::string failed = R"({"event":"failed","severity":"permanent","id":"mg1","timestamp":1700000000.5,
    "recipient":"ana@example.com","delivery-status":{"code":550,"message":"No such mailbox"},
    "user-variables":{"action_id":"a1","lead":"L1"}})";
  const auto now = std::chrono::system_clock::now();
  auto reports = parse_mailgun_webhook(webhook(failed, signature), "signing-key", now);
  REQUIRE_MESSAGE(reports.has_value(), reports.error().message);
  REQUIRE(reports->size() == 1);
  CHECK((*reports)[0].type == "email.bounced");
  CHECK((*reports)[0].lead == "L1");
  CHECK((*reports)[0].reason == "550 No such mailbox");
  CHECK((*reports)[0].event_id == "mailgun:mg1");

  const std::string complained = R"({"event":"complained","id":"mg2","recipient":"bo@example.com","user-variables":{"lead":"L2"}})";
  CHECK(parse_mailgun_webhook(webhook(complained, signature), "signing-key", now)->at(0).type == "email.complained");
  const std::string temporary = R"({"event":"failed","severity":"temporary","id":"mg3","recipient":"cy@example.com"})";
  CHECK(parse_mailgun_webhook(webhook(temporary, signature), "signing-key", now)->empty());
  CHECK(parse_mailgun_webhook(webhook(failed, signature), "another-key", now).error().message == "bad signature");
  CHECK(parse_mailgun_webhook(webhook(failed, std::string(64, '0')), "signing-key", now).error().message == "bad signature");
}

TEST_CASE("an event time out of range (before 1970, past 2262, not a number) reads as the time of receipt") {
  // Found by the webhook fuzzer: 9772438400 s overflowed the conversion to the clock's nanoseconds.
  const auto received = std::chrono::system_clock::now();
  const std::string timestamp = unix_now();
  const std::string token = "0123456789abcdef0123456789abcdef";
  TempDir dir;
  const std::string signature =
      shell(dir.path(), "printf %s '" + timestamp + token + "' | openssl dgst -sha256 -hmac k -r | cut -d' ' -f1");
  for (const char* at : {"9772438400", "-5", "1e300", "\"soon\""}) {
    CAPTURE(at);
    const std::string body = R"({"signature":{"timestamp":")" + timestamp + R"(","token":")" + token +
                             R"(","signature":")" + signature + R"("},"event-data":{"event":"complained","id":"m",)" +
                             R"("recipient":"ana@example.com","timestamp":)" + at + "}}";
    auto mailgun = parse_mailgun_webhook(body, "k", received);
    REQUIRE_MESSAGE(mailgun.has_value(), mailgun.error().message);
    REQUIRE(mailgun->size() == 1);
    CHECK(mailgun->at(0).at == received);
  }
}

TEST_CASE("postmark: Basic auth, hard bounces and spam complaints count, soft bounces do not") {
  const std::string hard = R"({"RecordType":"Bounce","ID":42,"Type":"HardBounce","Email":"ana@example.com",
    "Description":"The server was unable to deliver your message","Metadata":{"action_id":"a1","lead":"L1"}})";
  const Headers good = {{"authorization", "Basic aG9vazpzM2NyZXQ="}};  // hook:s3cret
  auto reports = parse_postmark_webhook(hard, good, "hook", "s3cret", now);
  REQUIRE_MESSAGE(reports.has_value(), reports.error().message);
  REQUIRE(reports->size() == 1);
  CHECK((*reports)[0].type == "email.bounced");
  CHECK((*reports)[0].event_id == "postmark:42");
  CHECK((*reports)[0].lead == "L1");
  const std::string soft = R"({"RecordType":"Bounce","ID":43,"Type":"SoftBounce","Email":"bo@example.com"})";
  CHECK(parse_postmark_webhook(soft, good, "hook", "s3cret", now)->empty());
  const std::string spam = R"({"RecordType":"SpamComplaint","ID":44,"Email":"cy@example.com","Metadata":{"lead":"L3"}})";
  CHECK(parse_postmark_webhook(spam, good, "hook", "s3cret", now)->at(0).type == "email.complained");
  CHECK(parse_postmark_webhook(hard, {{"authorization", "Basic aG9vazp3cm9uZw=="}}, "hook", "s3cret", now).error().message ==
        "bad credentials");
  CHECK(parse_postmark_webhook(hard, {}, "hook", "s3cret", now).error().message == "bad credentials");
}

TEST_CASE("a DSN (RFC 3464) with a permanent failure is a bounce of the action in its original Message-ID") {
  const std::string dsn =
      "From: MAILER-DAEMON@mx.acme.example\r\n"
      "To: bounces@acme.example\r\n"
      "Subject: Undelivered Mail Returned to Sender\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/report; report-type=delivery-status;\r\n"
      "\tboundary=\"B1\"\r\n"
      "\r\n"
      "--B1\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you...\r\n"
      "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Reporting-MTA: dns; mx.acme.example\r\nArrival-Date: Mon, 2 Mar 2026 08:00:00 +0000\r\n\r\n"
      "Final-Recipient: rfc822; Ana@Example.com\r\nOriginal-Recipient: rfc822;ana@example.com\r\nAction: failed\r\n"
      "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.com\r\n"
      "Diagnostic-Code: smtp; 550 5.1.1 <ana@example.com>: Recipient address rejected\r\n\r\n"
      "Final-Recipient: rfc822; bo@example.com\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
      "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
      "From: Acme <hello@acme.example>\r\nTo: ana@example.com\r\nSubject: Welcome\r\n"
      "Message-ID: <0123abcd@acme.example>\r\n\r\n"
      "--B1--\r\n";
  auto reports = parse_report_message(dsn, now);
  REQUIRE_MESSAGE(reports.has_value(), reports.error().message);
  REQUIRE(reports->size() == 1);  // the delayed recipient is not a bounce
  CHECK((*reports)[0].type == "email.bounced");
  CHECK((*reports)[0].address == "ana@example.com");
  CHECK((*reports)[0].action_id == "0123abcd");
  CHECK((*reports)[0].reason == "5.1.1 550 5.1.1 <ana@example.com>: Recipient address rejected");
  CHECK((*reports)[0].event_id == "dsn:0123abcd:ana@example.com");
}

TEST_CASE("an ARF abuse report (RFC 5965) is a complaint, other messages are refused with a reason") {
  const std::string arf =
      "Content-Type: multipart/report; report-type=feedback-report; boundary=\"X\"\n\n"
      "--X\nContent-Type: text/plain\n\nThis is an email abuse report\n"
      "--X\nContent-Type: message/feedback-report\n\nFeedback-Type: abuse\nUser-Agent: SomeISP/1.0\nVersion: 1\n"
      "Original-Rcpt-To: <cy@example.com>\n\n"
      "--X\nContent-Type: message/rfc822\n\nFrom: hello@acme.example\nMessage-ID: <beef@acme.example>\n\nHi\n"
      "--X--\n";
  auto reports = parse_report_message(arf, now);
  REQUIRE_MESSAGE(reports.has_value(), reports.error().message);
  REQUIRE(reports->size() == 1);
  CHECK((*reports)[0].type == "email.complained");
  CHECK((*reports)[0].address == "cy@example.com");
  CHECK((*reports)[0].action_id == "beef");

  CHECK(parse_report_message("Subject: hi\r\n\r\nhello", now).error().message ==
        "not a report (expected Content-Type: multipart/report)");
}

TEST_CASE("webhook bodies of the wrong shape are read as far as they go, never thrown on") {
  const Headers good = {{"authorization", "Basic aG9vazpzM2NyZXQ="}};
  const char* odd[] = {R"({"RecordType":"Bounce","Type":"HardBounce","Email":5,"Metadata":"oops"})",
                       R"({"RecordType":["Bounce"],"Metadata":[1,2]})", R"([1,2,3])", R"("text")", "{not json"};
  for (const char* body : odd) {
    CAPTURE(body);
    CHECK_NOTHROW((void)parse_postmark_webhook(body, good, "hook", "s3cret", now));
    CHECK_NOTHROW((void)parse_report_message(body, now));
  }
  auto reports = parse_postmark_webhook(odd[0], good, "hook", "s3cret", now);
  REQUIRE(reports.has_value());
  REQUIRE(reports->size() == 1);
  CHECK(reports->at(0).lead.empty());  // no metadata to read a lead from: looked up by action, else suppressed only
}

TEST_CASE("a DSN with a blank continuation line and a Latin-1 diagnostic is read, its reason made UTF-8") {
  const std::string dsn =
      "From: MAILER-DAEMON@mx.acme.example\r\n"
      "Content-Type: multipart/report; report-type=delivery-status;\r\n"
      "  \r\n"  // a continuation line of blanks alone: it once threw out_of_range
      "\tboundary=\"B1\"\r\n"
      "\r\n"
      "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
      "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
      "Final-Recipient: rfc822; ana@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
      "Diagnostic-Code: smtp; 550 Benutzer unbekannt \xfc\r\n \t\r\n\r\n"
      "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <0123abcd@acme.example>\r\n\r\n"
      "--B1--\r\n";
  auto reports = parse_report_message(dsn, now);
  REQUIRE_MESSAGE(reports.has_value(), reports.error().message);
  REQUIRE(reports->size() == 1);
  CHECK(fit_to_store(*reports)[0].reason == "5.1.1 550 Benutzer unbekannt \xef\xbf\xbd");  // as the engine stores it
}

TEST_CASE("a report about a recipient that is no address suppresses nothing") {
  const std::string dsn =
      "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n"
      "--B1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
      "Final-Recipient: rfc822; not an address\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B1--\r\n";
  auto reports = parse_report_message(dsn, now);
  REQUIRE(reports.has_value());
  REQUIRE(reports->size() == 1);
  CHECK(fit_to_store(*reports).at(0).address.empty());  // the engine suppresses no address for it
}
