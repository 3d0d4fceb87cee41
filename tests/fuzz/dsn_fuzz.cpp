// Delivery status notifications (RFC 3464) and abuse reports (RFC 5965) for `nurture dsn`.
#include "engine/runtime/feedback.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "text/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto reports = nurture::engine::parse_report_message(std::string(nurture::fuzz::as_text(data, size)));
  if (!reports) return 0;
  for (const auto& report : *reports) {
    nurture::fuzz::require(nurture::text::is_valid_utf8(report.reason), "a report's reason is UTF-8");
  }
  return 0;
}
