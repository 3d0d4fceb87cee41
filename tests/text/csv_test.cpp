#include <doctest/doctest.h>

#include "text/csv.hpp"

using nurture::text::CsvReader;

TEST_CASE("CSV records: quotes, embedded commas, quotes and line breaks, CRLF") {
  CsvReader reader("id,name,note\r\nL1,\"Doe, Jane\",\"said \"\"hi\"\"\"\nL2,Bo,\"two\nlines\"\nL3,,\n");
  std::string error;
  CHECK(*reader.next(error) == std::vector<std::string>{"id", "name", "note"});
  CHECK(*reader.next(error) == std::vector<std::string>{"L1", "Doe, Jane", "said \"hi\""});
  CHECK(reader.line() == 2);
  CHECK(*reader.next(error) == std::vector<std::string>{"L2", "Bo", "two\nlines"});
  CHECK(*reader.next(error) == std::vector<std::string>{"L3", "", ""});
  CHECK(reader.line() == 5);
  CHECK_FALSE(reader.next(error));
  CHECK(error.empty());
}

TEST_CASE("an unterminated quote is an error, not a silently merged record") {
  CsvReader reader("id,name\nL1,\"open\n");
  std::string error;
  REQUIRE(reader.next(error));
  CHECK_FALSE(reader.next(error));
  CHECK(error == "a quoted field is not closed");
}
