// JSON from outside within limits, and JSON going out.
#include "tests/fuzz/fuzz_support.hpp"
#include "text/json.hpp"
#include "text/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = nurture::fuzz::as_text(data, size);
  (void)nurture::text::json_depth(input);
  auto parsed = nurture::text::parse_json(input, {1 << 16, 16});
  if (parsed) {
    const std::string out = nurture::text::dump_json(*parsed);
    nurture::fuzz::require(nurture::text::is_valid_utf8(out), "JSON written out is UTF-8");
    nurture::fuzz::require(nurture::text::parse_json(out, {1 << 20, 16}).has_value(), "JSON written out parses");
  }
  return 0;
}
