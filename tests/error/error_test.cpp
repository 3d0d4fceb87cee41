#include <doctest/doctest.h>

#include "nurture/error.hpp"

using nurture::Error;

TEST_CASE("an error reads file:line:col: error: message (fix), leaving out what is not known") {
  CHECK(Error{"unknown key", {"workflows/w.yaml", 3, 5}, "did you mean \"wait\"?"}.format() ==
        "workflows/w.yaml:3:5: error: unknown key (did you mean \"wait\"?)");
  CHECK(Error{"1 fields, the header has 2", {"leads.csv", 2, 0}}.format() ==
        "leads.csv:2: error: 1 fields, the header has 2");
  CHECK(Error{"cannot read the file", {"templates/x.mustache"}}.format() ==
        "templates/x.mustache: error: cannot read the file");
  CHECK(Error{"no Redis at localhost:6379"}.format() == "error: no Redis at localhost:6379");
  CHECK(Error{"unused", {"a.yaml", 1, 1}}.format("warning") == "a.yaml:1:1: warning: unused");
}

TEST_CASE("fail() makes the error side of an Expected") {
  const nurture::Expected<int> failed = nurture::fail("bad", {"f", 1, 2}, "fix it");
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error().where.column == 2);
  CHECK(failed.error().hint == "fix it");
}
