#include <doctest/doctest.h>

#include "text/csv.hpp"

using nurture::text::CsvReader;

TEST_CASE("CSV records: quotes, embedded commas, quotes and line breaks, CRLF") {
  CsvReader reader("id,name,note\r\nL1,\"Doe, Jane\",\"said \"\"hi\"\"\"\nL2,Bo,\"two\nlines\"\nL3,,\n");
  CHECK(reader.next()->value() == std::vector<std::string>{"id", "name", "note"});
  CHECK(reader.next()->value() == std::vector<std::string>{"L1", "Doe, Jane", "said \"hi\""});
  CHECK(reader.line() == 2);
  CHECK(reader.next()->value() == std::vector<std::string>{"L2", "Bo", "two\nlines"});
  CHECK(reader.next()->value() == std::vector<std::string>{"L3", "", ""});
  CHECK(reader.line() == 5);
  auto end = reader.next();
  REQUIRE(end.has_value());  // the end is no error
  CHECK_FALSE(end->has_value());
}

TEST_CASE("an unterminated quote is an error, not a silently merged record") {
  CsvReader reader("id,name\nL1,\"open\n");
  REQUIRE(reader.next().has_value());
  auto open = reader.next();
  REQUIRE_FALSE(open.has_value());
  CHECK(open.error().message == "a quoted field is not closed");
  CHECK(open.error().where.line == 2);
}
