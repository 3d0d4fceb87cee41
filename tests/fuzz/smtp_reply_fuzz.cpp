// What an SMTP server answers: any bytes become a result whose reason is UTF-8.
#include "connectors/smtp/smtp_connector.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "text/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const long code = 200 + (data[0] * 256 + data[1]) % 400;
  const auto result = nurture::connectors::classify_smtp_reply(code, std::string(nurture::fuzz::as_text(data + 2, size - 2)));
  nurture::fuzz::require(nurture::text::is_valid_utf8(result.reason), "a result's reason is UTF-8");
  return 0;
}
