#include <doctest/doctest.h>

#include "templates/mime.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::templates;

TEST_CASE("mailboxes parse with and without display names") {
  auto a = parse_mailbox("Acme Team <hello@acme.example>");
  REQUIRE(a);
  CHECK(a->display_name == "Acme Team");
  CHECK(a->address == "hello@acme.example");
  auto b = parse_mailbox("  ana@example.com ");
  REQUIRE(b);
  CHECK(b->display_name.empty());
  CHECK(b->address == "ana@example.com");
  CHECK_FALSE(parse_mailbox("not an address"));
  CHECK_FALSE(parse_mailbox("Name <broken"));
}

TEST_CASE("non-ASCII header text becomes RFC 2047 encoded words, ASCII stays as it is") {
  CHECK(encode_header_text("Welcome aboard") == "Welcome aboard");
  CHECK(encode_header_text("Zoë") == "=?UTF-8?B?Wm/Dqw==?=");
  const std::string long_subject(60, 'x');
  const std::string encoded = encode_header_text(long_subject + "é");
  CHECK(encoded.find("\r\n ") != std::string::npos);  // folded into several words
  for (std::size_t start = 0, end; start < encoded.size(); start = end + 3) {
    end = encoded.find("\r\n ", start);
    if (end == std::string::npos) end = encoded.size();
    CHECK(end - start <= 75);  // RFC 2047: an encoded word is at most 75 characters
  }
  CHECK(format_mailbox({"Zoë", "z@example.com"}) == "=?UTF-8?B?Wm/Dqw==?= <z@example.com>");
  CHECK(format_mailbox({"Acme, Inc.", "a@example.com"}) == "\"Acme, Inc.\" <a@example.com>");
}

TEST_CASE("quoted-printable keeps lines at most 76 long and encodes what must be encoded") {
  const std::string text = std::string(200, 'a') + "\n= é \n.dot";
  const std::string encoded = quoted_printable(text);
  std::size_t start = 0;
  while (start < encoded.size()) {
    std::size_t end = encoded.find("\r\n", start);
    if (end == std::string::npos) end = encoded.size();
    CHECK(end - start <= 76);
    start = end + 2;
  }
  CHECK(encoded.find("=3D =C3=A9=20\r\n") != std::string::npos);  // '=', UTF-8, trailing space
  CHECK(encoded.find("\r\n=2Edot") != std::string::npos);          // no line starts with a bare '.'
  CHECK(nurture::testing::decode_quoted_printable(encoded) ==
        std::string(200, 'a') + "\r\n= é \r\n.dot");
}

TEST_CASE("RFC 5322 dates are in UTC with the weekday") {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / March / 2} + hours(8) + minutes(5) + seconds(9);
  CHECK(rfc5322_date(t) == "Mon, 02 Mar 2026 08:05:09 +0000");
}

TEST_CASE("a composed email has the compliance headers and a multipart/alternative body, text first") {
  OutgoingEmail email;
  email.from = "Acme Team <hello@acme.example>";
  email.to = "ana@example.com";
  email.reply_to = "support@acme.example";
  email.subject = "Olá, Ana";
  email.text = "Hi Ana\n";
  email.html = "<p>Hi Ana</p>\n";
  email.message_id = "0123abcd@acme.example";
  email.date = std::chrono::system_clock::time_point{};
  email.list_unsubscribe_url = "https://t.acme.example/u/tok";
  email.list_unsubscribe_mailto = "unsubscribe@acme.example";
  const std::string raw = compose_mime(email).value();
  using nurture::testing::header;
  CHECK(header(raw, "From") == "Acme Team <hello@acme.example>");
  CHECK(header(raw, "To") == "ana@example.com");
  CHECK(header(raw, "Reply-To") == "support@acme.example");
  CHECK(header(raw, "Subject") == "=?UTF-8?B?T2zDoSwgQW5h?=");
  CHECK(header(raw, "Message-ID") == "<0123abcd@acme.example>");
  CHECK(header(raw, "Date") == "Thu, 01 Jan 1970 00:00:00 +0000");
  CHECK(header(raw, "List-Unsubscribe") == "<https://t.acme.example/u/tok>, <mailto:unsubscribe@acme.example>");
  CHECK(header(raw, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click");
  CHECK(header(raw, "MIME-Version") == "1.0");
  CHECK(header(raw, "Content-Type").find("multipart/alternative; boundary=") == 0);
  CHECK(raw.find("text/plain") < raw.find("text/html"));
  CHECK(nurture::testing::mime_part(raw, "text/plain; charset=UTF-8") == "Hi Ana\r\n");
  CHECK(nurture::testing::mime_part(raw, "text/html; charset=UTF-8") == "<p>Hi Ana</p>\r\n");
  std::size_t start = 0;
  while (start < raw.size()) {  // every line ends in CRLF and none is over 998 characters
    std::size_t end = raw.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    CHECK(end - start <= 998);
    CHECK(raw.substr(start, end - start).find('\n') == std::string::npos);
    start = end + 2;
  }
}

TEST_CASE("the domain of an address is what follows the @") {
  CHECK(address_domain("Acme <hello@acme.example>") == "acme.example");
  CHECK(address_domain("nobody") == "localhost");
}

TEST_CASE("long subjects and long html lines still give lines of at most 998 characters (RFC 5322 2.1.1)") {
  OutgoingEmail email;
  email.from = "Acme Team <hello@acme.example>";
  email.to = "ana@example.com";
  std::string subject;
  for (int i = 0; i < 120; ++i) subject += "word" + std::to_string(i) + " ";
  email.subject = subject + "end";
  email.text = std::string(3000, 'x') + "\n";
  email.html = "<p>" + std::string(5000, 'y') + "</p>";
  email.message_id = "long@acme.example";
  email.date = std::chrono::system_clock::time_point{};
  const std::string raw = compose_mime(email).value();
  std::size_t start = 0, longest = 0;
  while (start < raw.size()) {
    const std::size_t end = raw.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    longest = std::max(longest, end - start);
    start = end + 2;
  }
  CHECK(longest <= 998);
  CHECK(nurture::testing::header(raw, "Subject") == email.subject);  // folded, and unfolds to the same text
  CHECK(nurture::testing::mime_part(raw, "text/html; charset=UTF-8") == email.html);
}

TEST_CASE("a subject of continuation bytes alone is encoded at once (it once looped forever)") {
  const std::string encoded = encode_header_text(std::string(45, '\x80'));
  CHECK(encoded.rfind("=?UTF-8?B?", 0) == 0);
  CHECK(encode_header_text(std::string(1000, '\x80')).size() < 20000);
}

TEST_CASE("header text never carries CR or LF, whatever the subject rendered to") {
  const std::string encoded = encode_header_text("Hello\r\nBcc: victim@example.com");
  CHECK(encoded == "Hello  Bcc: victim@example.com");
  const std::string long_subject = encode_header_text(std::string(2000, 'x'));
  for (std::size_t start = 0, end; start < long_subject.size(); start = end + 2) {
    end = long_subject.find("\r\n", start);
    if (end == std::string::npos) end = long_subject.size();
    CHECK(end - start <= 998);
  }
}

TEST_CASE("an address that does not parse never reaches a header: compose refuses it") {
  OutgoingEmail email;
  email.from = "Acme <hello@acme.example>";
  email.subject = "Hi";
  email.message_id = "abc@acme.example";
  email.to = "a@example.com>\r\nDATA\r\nFrom: ceo@acme.example";
  auto refused = compose_mime(email);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().rfind("To \"", 0) == 0);
  email.to = "victim@example.com\r\nBcc: everyone@example.com";
  CHECK_FALSE(compose_mime(email));
  email.to = std::string(1100, 'N') + " <ana@example.com>";  // a long display name is folded, not one long line
  auto composed = compose_mime(email);
  REQUIRE(composed);
  for (std::size_t start = 0, end; start < composed->size(); start = end + 2) {
    end = composed->find("\r\n", start);
    if (end == std::string::npos) break;
    CHECK(end - start <= 998);
  }
}

TEST_CASE("the sender's mailboxes are checked on every message, whatever came before") {
  // compose_mime keeps the sender's last formatted mailbox: a change of sender must be parsed again.
  OutgoingEmail email;
  email.to = "ana@example.com";
  email.subject = "Hi";
  email.message_id = "abc@acme.example";
  email.from = "Acme <hello@acme.example>";
  REQUIRE(compose_mime(email));
  email.from = "Acme <hello@acme.example>\r\nBcc: everyone@example.com";
  auto refused = compose_mime(email);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().rfind("From \"", 0) == 0);
  email.from = "Other <news@other.example>";
  email.reply_to = "help@other.example\r\nX: y";
  refused = compose_mime(email);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().rfind("Reply-To \"", 0) == 0);
  email.reply_to = "help@other.example";
  auto composed = compose_mime(email);
  REQUIRE(composed);
  CHECK(composed->find("From: Other <news@other.example>\r\n") != std::string::npos);
  CHECK(composed->find("Reply-To: help@other.example\r\n") != std::string::npos);
}
