// broadcasts/*.yaml: one broadcast (id, segment, a local or zoned time, zones, one action, throttle, split).
#include "tests/fuzz/fuzz_support.hpp"
#include "workflows/campaign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)nurture::workflows::parse_broadcast_text(std::string(nurture::fuzz::as_text(data, size)),
                                                 "broadcasts/fuzz.yaml", "outbox");
  return 0;
}
