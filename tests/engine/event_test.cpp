#include <doctest/doctest.h>

#include "engine/event.hpp"

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
      {{{"type", "x"}, {"lead", "has space"}}, "`lead` must be 1-128 printable bytes without whitespace"},
      {{{"type", "x"}, {"lead", std::string(129, 'a')}}, "`lead` must be 1-128 printable bytes without whitespace"},
      {{{"type", "x"}, {"lead", "L1"}, {"attrs", "{not json"}}, "`attrs` is not valid JSON"},
      {{{"type", "x"}, {"lead", "L1"}, {"props", "[1,2]"}}, "`props` must be a JSON object"},
      {{{"type", "x"}, {"lead", "L1"}, {"at", "soon"}},
       "`at` \"soon\" is not an RFC 3339 time (e.g. 2026-03-02T08:00:00Z)"},
  };
  for (const auto& c : cases) {
    auto event = parse_event(c.fields, "1-0");
    REQUIRE_FALSE(event);
    CHECK(event.error() == c.reason);
  }
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
