// Lead attribute values as text (`nurture import` cells, `emit --attr k=v`) typed by declared and inferred types,
// and the redis: URL reader of nurture.yaml. The input's first byte picks the declared type (or none).
#include "tests/fuzz/fuzz_support.hpp"
#include "text/url.hpp"
#include "workflows/attributes.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  using nurture::workflows::AttributeType;
  static const AttributeType types[] = {AttributeType::string, AttributeType::number,   AttributeType::boolean,
                                        AttributeType::date,   AttributeType::email,    AttributeType::timezone};
  const std::string text(nurture::fuzz::as_text(data + 1, size - 1));
  nurture::workflows::AttributeTypes declared;
  if (data[0] % 7 < 6) declared["x"] = types[data[0] % 7];
  const auto typed = nurture::workflows::attribute_from_text(declared, "x", text);
  if (typed) {
    nurture::fuzz::require(!typed->is_discarded(), "a typed value is a JSON value");
    if (!declared.empty() && declared.at("x") == AttributeType::number) {
      nurture::fuzz::require(typed->is_number(), "a declared number types as a number");
    }
    // Typed once, the value types the same way again from JSON.
    const auto again = nurture::workflows::attribute_from_json(declared, "x", *typed);
    nurture::fuzz::require(again.has_value() && *again == *typed, "typing is stable");
  }
  (void)nurture::text::parse_redis_url(text);
  return 0;
}
