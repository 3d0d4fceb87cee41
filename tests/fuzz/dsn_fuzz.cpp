// Delivery status notifications (RFC 3464) and abuse reports (RFC 5965) for `nurture dsn`.
#include "connectors/smtp/dsn.hpp"
#include "engine/runtime/feedback_recorder.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "text/utf8.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto reports = nurture::connectors::parse_report_message(std::string(nurture::fuzz::as_text(data, size)), {});
  if (!reports) return 0;
  for (const auto& report : nurture::engine::fit_to_store(*reports)) {
    nurture::fuzz::require(nurture::text::is_valid_utf8(report.reason), "a report's reason is stored as UTF-8");
  }
  return 0;
}
