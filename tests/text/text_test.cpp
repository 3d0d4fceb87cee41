#include <doctest/doctest.h>

#include <thread>

#include "text/address.hpp"
#include "text/encoding.hpp"
#include "text/json.hpp"
#include "text/url.hpp"
#include "text/utf8.hpp"

using namespace nurture::text;

TEST_CASE("UTF-8 is checked strictly: overlongs, surrogates, truncated and stray bytes are not UTF-8") {
  CHECK(is_valid_utf8("Ana Müller — 日本 🎉"));
  CHECK_FALSE(is_valid_utf8("\xff"));
  CHECK_FALSE(is_valid_utf8("\xfc"));                // Latin-1 ü
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));            // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));        // a surrogate
  CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));    // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xe2\x82"));            // cut short
  CHECK_FALSE(is_valid_utf8(std::string(45, '\x80')));  // continuation bytes alone
  CHECK(first_invalid_utf8("ok\xfcok") == 2);
}

TEST_CASE("broken UTF-8 is repaired byte by byte with U+FFFD, valid text comes back as it was") {
  CHECK(to_valid_utf8("Müller") == "Müller");
  CHECK(to_valid_utf8("M\xfcller") == "M\xef\xbf\xbdller");
  CHECK(is_valid_utf8(to_valid_utf8(std::string(45, '\x80'))));
  CHECK(truncate_utf8("aé", 2) == "a");  // never inside a sequence
}

TEST_CASE("addresses are RFC 5321 mailboxes: nothing with CR, LF, spaces or brackets passes") {
  CHECK(parse_address("ana@example.com") == "ana@example.com");
  CHECK(parse_address("  first.last+tag@sub.example.co.uk ") == "first.last+tag@sub.example.co.uk");
  CHECK(parse_address("\"john doe\"@example.com"));
  CHECK(parse_address("josé@exämple.com"));  // RFC 6531
  CHECK(parse_address("ops@[192.0.2.1]"));
  CHECK_FALSE(parse_address("a@example.com>\r\nDATA"));
  CHECK_FALSE(parse_address("a@example.com\r\nBcc: x@evil.example"));
  CHECK_FALSE(parse_address("a b@example.com"));
  CHECK_FALSE(parse_address("a@exa mple.com"));
  CHECK_FALSE(parse_address("a..b@example.com"));
  CHECK_FALSE(parse_address(".a@example.com"));
  CHECK_FALSE(parse_address("a@-example.com"));
  CHECK_FALSE(parse_address("a@example..com"));
  CHECK_FALSE(parse_address("a@"));
  CHECK_FALSE(parse_address("@example.com"));
  CHECK_FALSE(parse_address(std::string(65, 'a') + "@example.com"));
  CHECK_FALSE(parse_address("a@" + std::string(250, 'b') + ".com"));
  CHECK_FALSE(parse_address("\"a\rb\"@example.com"));
  CHECK_FALSE(parse_address("a\xff@example.com"));
}

TEST_CASE("mailboxes: a display name and an address, or a bare address") {
  auto a = parse_mailbox("Acme Team <hello@acme.example>");
  REQUIRE(a);
  CHECK(a->display_name == "Acme Team");
  CHECK(a->address == "hello@acme.example");
  auto quoted = parse_mailbox(R"("Acme, Inc." <hello@acme.example>)");
  REQUIRE(quoted);
  CHECK(quoted->display_name == "Acme, Inc.");
  CHECK_FALSE(parse_mailbox("Evil\r\nBcc: x@evil.example <a@example.com>"));
  CHECK_FALSE(parse_mailbox("Name <a@example.com>\r\nDATA"));
  CHECK_FALSE(parse_mailbox("Name <broken"));
  CHECK_FALSE(parse_mailbox("a <b> <c@example.com>"));
}

TEST_CASE("JSON from outside is parsed within size and depth, without recursion on the way in") {
  CHECK(parse_json(R"({"a":[1,{"b":2}]})", {1024, 3}));
  CHECK(parse_json(R"({"a":[1,{"b":2}]})", {1024, 2}).error() == "nests deeper than 2 levels");
  CHECK(parse_json(std::string(300000, '['), {1 << 20, 32}).error() == "nests deeper than 32 levels");
  CHECK(parse_json(R"({"a":"[[[[["})", {1024, 1}));  // brackets inside strings do not count
  CHECK(parse_json(R"({"a":"\"[[["})", {1024, 1}));  // nor after an escaped quote
  CHECK(parse_json("{\"a\":\"\xff\"}", {1024, 4}).error().rfind("is not valid JSON (", 0) == 0);
  CHECK(is_valid_utf8(parse_json("\"\xdc:[2]}", {1024, 4}).error()));  // found by event_fuzz: the reason quotes input
  CHECK(parse_json(std::string(2000, ' '), {1000, 4}).error() == "is 2000 bytes, more than the limit of 1000");
  CHECK_FALSE(parse_json("22e222222222222222", {1000, 4}));  // found by json_fuzz: out_of_range, not parse_error
}

TEST_CASE("JSON going out never throws on broken UTF-8") {
  nlohmann::json value = {{"lead", "L\xff"}, {"reply", "550 Benutzer unbekannt \xfc"}};
  CHECK(dump_json(value) == "{\"lead\":\"L\xef\xbf\xbd\",\"reply\":\"550 Benutzer unbekannt \xef\xbf\xbd\"}");
}

TEST_CASE("only absolute http(s) URLs with a host pass, CR, LF and other schemes never do") {
  auto ok = parse_http_url("https://Acme.example/pricing?plan=pro#top");
  REQUIRE(ok);
  CHECK(ok->host == "acme.example");
  CHECK_FALSE(parse_http_url("https://acme.example/\r\nSet-Cookie: a=b"));
  CHECK_FALSE(parse_http_url("https://acme.example/ x"));
  CHECK_FALSE(parse_http_url("javascript:alert(1)"));
  CHECK_FALSE(parse_http_url("data:text/html,<script>"));
  CHECK_FALSE(parse_http_url("/relative/path"));
  CHECK_FALSE(parse_http_url("https:///no-host"));
  CHECK_FALSE(parse_http_url("ftp://acme.example/file"));
}

TEST_CASE("base64, base64url and hex: the RFC 4648 test vectors, both ways") {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},        {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    CHECK(nurture::text::base64_encode(plain) == encoded);
    CHECK(nurture::text::base64_decode(encoded) == std::optional<std::string>(plain));
    std::string unpadded = encoded;  // base64url leaves the padding off
    std::erase(unpadded, '=');
    CHECK(nurture::text::base64url_encode(plain) == unpadded);
  }
  std::string bytes;  // every length up to 40, all byte values: each encoding reads back as it was
  for (int n = 0; n <= 40; ++n) {
    CHECK(nurture::text::base64_decode(nurture::text::base64_encode(bytes)) == std::optional<std::string>(bytes));
    CHECK(nurture::text::base64_decode(nurture::text::base64url_encode(bytes)) == std::optional<std::string>(bytes));
    bytes += static_cast<char>(n * 97 + 200);
  }
  CHECK(nurture::text::base64url_encode("\xfb\xff") == "-_8");
  CHECK(nurture::text::base64_decode("-_8") == std::optional<std::string>("\xfb\xff"));
  CHECK(nurture::text::base64_decode("Zm9v\r\nYmFy") == std::optional<std::string>("foobar"));  // line breaks skipped
  CHECK_FALSE(nurture::text::base64_decode("Zm9v!"));    // a stranger
  CHECK_FALSE(nurture::text::base64_decode("Zg==Zg"));   // data after the padding
  CHECK_FALSE(nurture::text::base64_decode("Z"));        // no whole byte
  CHECK(nurture::text::hex_encode(std::string("\x00\x9f\xff", 3)) == "009fff");
}

TEST_CASE("an address is kept as the SHA-256 of its key, the same on every thread") {
  const std::string expected = "sha256:8e43ca37701228e74983efdbd0cff5c16b3b1e5d4e29a7c05626d4d25a018e11";
  CHECK(nurture::text::address_hash("ana@example.com") == expected);
  CHECK(nurture::text::address_hash("ana@example.com") == expected);  // the context is reused
  CHECK(nurture::text::address_hash("Ana <ANA@Example.com>") == expected);  // of its key
  CHECK(nurture::text::hash_of_address_key(nurture::text::address_key("Ana <ANA@Example.com>")) == expected);
  std::string on_another_thread;
  std::thread([&] { on_another_thread = nurture::text::address_hash("ana@example.com"); }).join();
  CHECK(on_another_thread == expected);
}
