// Lead attributes typed by nurture.yaml's `attributes:`, or inferred alike wherever they come in as text.
#include <doctest/doctest.h>

#include "workflows/attributes.hpp"

using namespace nurture::workflows;
using nlohmann::json;

TEST_CASE("text is typed by its declaration, else a JSON number or true/false is inferred and the rest stays text") {
  const AttributeTypes declared = {{"seats", AttributeType::number},  {"zip", AttributeType::string},
                                   {"vip", AttributeType::boolean},   {"trial_ends", AttributeType::date},
                                   {"email", AttributeType::email},   {"timezone", AttributeType::timezone}};
  CHECK(*attribute_from_text(declared, "seats", "139") == json(139));
  CHECK(attribute_from_text(declared, "seats", "139")->is_number_integer());
  CHECK(*attribute_from_text(declared, "seats", "2.5") == json(2.5));
  CHECK(*attribute_from_text(declared, "zip", "02134") == json("02134"));
  CHECK(*attribute_from_text(declared, "zip", "139") == json("139"));  // declared text stays text
  CHECK(*attribute_from_text(declared, "vip", "Yes") == json(true));
  CHECK(*attribute_from_text(declared, "vip", "0") == json(false));
  CHECK(*attribute_from_text(declared, "trial_ends", "2026-12-24") == json("2026-12-24"));
  CHECK(*attribute_from_text(declared, "trial_ends", "2026-12-24T09:00:00+01:00") == json("2026-12-24T09:00:00+01:00"));
  CHECK(*attribute_from_text(declared, "timezone", "Europe/Berlin") == json("Europe/Berlin"));
  // Undeclared: inferred.
  CHECK(*attribute_from_text(declared, "employees", "250") == json(250));
  CHECK(*attribute_from_text(declared, "beta", "true") == json(true));
  CHECK(*attribute_from_text(declared, "postcode", "02134") == json("02134"));  // not a JSON number: text
  CHECK(*attribute_from_text(declared, "phone", "+15551234") == json("+15551234"));
  CHECK(*attribute_from_text(declared, "big", "1e999") == json("1e999"));  // not a finite number: text
  // Wrong types say what was expected.
  const std::pair<const char*, const char*> wrong[] = {
      {"seats", "many"}, {"vip", "maybe"}, {"trial_ends", "2026-13-01"}, {"trial_ends", "next week"},
      {"email", "ana at example"}, {"timezone", "Mars/Olympus"}};
  for (const auto& [name, value] : wrong) {
    CAPTURE(name);
    const auto typed = attribute_from_text(declared, name, value);
    REQUIRE_FALSE(typed);
    CHECK(typed.error().find(std::string("attribute ") + name + " is declared") != std::string::npos);
  }
}

TEST_CASE("JSON values keep their type unless declared, and a declared one is converted or refused") {
  const AttributeTypes declared = {{"seats", AttributeType::number}, {"label", AttributeType::string}};
  json attrs = {{"seats", "77"}, {"label", 12}, {"other", "77"}, {"gone", nullptr}};
  REQUIRE(type_attributes(declared, attrs));
  CHECK(attrs["seats"] == 77);
  CHECK(attrs["label"] == "12");
  CHECK(attrs["other"] == "77");  // JSON said text: undeclared, it stays text
  CHECK(attrs["gone"].is_null());
  json wrong = {{"seats", json::array({1, 2})}};
  const auto refused = type_attributes(declared, wrong);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == "attribute seats is declared number in nurture.yaml, and [1,2] is not");
}
