#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/core/event.hpp"

using namespace nurture::engine;

TEST_CASE("a well-formed stream entry parses, with `at` from the entry id when absent") {
  auto event = parse_event({{"type", "lead.created"}, {"lead", "L42"},
                            {"attrs", R"({"email":"ana@example.com","first_name":"Ana"})"}},
                           "1772438400000-0");
  REQUIRE(event);
  CHECK(event->type == "lead.created");
  CHECK(event->lead == "L42");
  CHECK(event->attrs["email"] == "ana@example.com");
  CHECK(format_rfc3339(event->at) == "2026-03-02T08:00:00Z");
  CHECK(event->stream_id == "1772438400000-0");
}

TEST_CASE("RFC 3339 times parse with Z, fractions and offsets") {
  CHECK(format_rfc3339(*parse_rfc3339("2026-03-02T08:00:00Z")) == "2026-03-02T08:00:00Z");
  CHECK(format_rfc3339(*parse_rfc3339("2026-03-02T09:00:00.250+01:00")) == "2026-03-02T08:00:00Z");
  for (const char* text : {"1970-01-01T00:00:00Z", "2028-02-29T23:59:59Z", "2199-12-31T23:59:59Z"}) {
    CHECK(format_rfc3339(*parse_rfc3339(text)) == text);  // epoch, a leap day, the last second accepted
  }
  CHECK_FALSE(parse_rfc3339("yesterday"));
  CHECK_FALSE(parse_rfc3339("2026-03-02"));
}

TEST_CASE("entries that break the wire format are refused with a reason") {
  struct Case {
    StreamFields fields;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{{"lead", "L1"}}, "missing field `type`"},
      {{{"type", "lead.created"}}, "missing field `lead`"},
      {{{"type", "Lead Created"}, {"lead", "L1"}}, "`type` \"Lead Created\" must match [a-z0-9_.-]+"},
      {{{"type", "x"}, {"lead", "has space"}}, "`lead` must be 1-128 bytes of UTF-8 without whitespace or controls"},
      {{{"type", "x"}, {"lead", std::string(129, 'a')}},
       "`lead` must be 1-128 bytes of UTF-8 without whitespace or controls"},
      {{{"type", "x"}, {"lead", "L\xff"}}, "`lead` must be 1-128 bytes of UTF-8 without whitespace or controls"},
      {{{"type", "x"}, {"lead", "L1"}, {"props", "[1,2]"}}, "`props` must be a JSON object"},
      {{{"type", "x"}, {"lead", "L1"}, {"at", "soon"}},
       "`at` \"soon\" is not an RFC 3339 time (e.g. 2026-03-02T08:00:00Z)"},
  };
  for (const auto& c : cases) {
    auto event = parse_event(c.fields, "1-0");
    REQUIRE_FALSE(event);
    CHECK(event.error() == c.reason);
  }
  auto bad_json = parse_event({{"type", "x"}, {"lead", "L1"}, {"attrs", "{not json"}}, "1-0");
  REQUIRE_FALSE(bad_json);
  CHECK(bad_json.error().rfind("`attrs` is not valid JSON (", 0) == 0);
}

// Each of these once crashed the daemon, or passed into a header or a command (see docs/events.md for the limits).
TEST_CASE("hostile events are refused at the door with the limit they break") {
  auto refused = [](StreamFields fields) {
    fields.try_emplace("type", "lead.created");
    fields.try_emplace("lead", "L1");
    auto event = parse_event(fields, "1-0");
    return event ? std::string() : event.error();
  };
  std::string many = "{";
  for (int i = 0; i < 4000; ++i) many += fmt::format("{}\"k{}\":{}", i ? "," : "", i, i);
  many += "}";
  CHECK(refused({{"attrs", many}}).find("more than the limit of 256") != std::string::npos);
  const std::string deep = "{\"a\":" + std::string(30000, '[') + std::string(30000, ']') + "}";
  CHECK(refused({{"attrs", deep}}) == "`attrs` nests deeper than 8 levels");
  CHECK(refused({{"props", "{\"a\":[[[[[[[[1]]]]]]]]}"}}) == "`props` nests deeper than 8 levels");
  CHECK(refused({{"props", "{\"a\":[[[[[[[1]]]]]]]}"}}).empty());  // 8 deep is fine
  CHECK(refused({{"attrs", "{\"bio\":\"" + std::string(9000, 'x') + "\"}"}}) ==
        "`attrs`: a string value is longer than 8192 bytes");
  CHECK(refused({{"attrs", "{\"first_name\":\"\xfc\"}"}}).rfind("`attrs` is not valid JSON (", 0) == 0);
  CHECK(refused({{"attrs", std::string(70000, ' ') + "{}"}}).find("more than the limit of 65536") !=
        std::string::npos);
  CHECK(refused({{"id", std::string(300, 'x')}}) == "`id` must be 1-256 bytes of UTF-8 without whitespace or controls");
  CHECK(refused({{"type", std::string(200, 'a')}}) == "`type` is longer than 128 bytes");
}

TEST_CASE("an email attribute must be a mail address: CR, LF and angle brackets never get in") {
  auto reason = [](const std::string& attrs) {
    auto event = parse_event({{"type", "lead.created"}, {"lead", "L1"}, {"attrs", attrs}}, "1-0");
    return event ? std::string() : event.error();
  };
  CHECK(reason(R"({"email":"ana@example.com"})").empty());
  CHECK(reason(R"({"email":null})").empty());
  CHECK(reason(R"({"email":"a@example.com>\r\nDATA\r\nSubject: hi\r\n.\r\n"})").rfind("`attrs.email` ", 0) == 0);
  CHECK(reason(R"({"email":"a@example.com\r\nBcc: x@evil.example"})").rfind("`attrs.email` ", 0) == 0);
  CHECK(reason(R"({"email":42})").rfind("`attrs.email` 42 is not a mail address", 0) == 0);
  CHECK(reason(R"({"email":"no-at-sign"})").rfind("`attrs.email` ", 0) == 0);
}

TEST_CASE("RFC 3339 times: lower-case t and z, 1-9 fractional digits, offsets, out of range refused") {
  CHECK(format_rfc3339(*parse_rfc3339("2026-03-02t08:00:00z")) == "2026-03-02T08:00:00Z");
  const auto nanos = parse_rfc3339("2026-03-02T08:00:00.123456789Z");
  REQUIRE(nanos);
  CHECK(to_unix_ms(*nanos) % 1000 == 123);
  CHECK(format_rfc3339(*parse_rfc3339("2026-03-02T08:00:00.5-02:30")) == "2026-03-02T10:30:00Z");
  CHECK_FALSE(parse_rfc3339("2026-03-02T08:00:00.1234567890Z"));  // 10 digits
  CHECK_FALSE(parse_rfc3339("2026-02-30T08:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-03-02T24:00:00Z"));
  CHECK_FALSE(parse_rfc3339("1969-12-31T23:59:59Z"));
  CHECK_FALSE(parse_rfc3339("2026-03-02T08:00:00"));  // no zone
  CHECK_FALSE(parse_rfc3339("+275760-09-13T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("4052-04-08T10:00:00Z"));  // found by event_fuzz: past 2262 the clock overflows
  CHECK(parse_rfc3339("2199-12-31T23:59:59Z"));
}

TEST_CASE("events round-trip through stream fields") {
  Event event;
  event.type = "page.viewed";
  event.lead = "L7";
  event.at = *parse_rfc3339("2026-03-02T08:00:00Z");
  event.props = {{"path", "/pricing"}};
  event.id = "evt-1";
  auto back = parse_event(to_stream_fields(event), "5-0");
  REQUIRE(back);
  CHECK(back->props["path"] == "/pricing");
  CHECK(back->id == "evt-1");
  CHECK(back->at == event.at);
}
