// posts/*.yaml: one scheduled post (id, an instant with its zone, connectors, template).
#include "tests/fuzz/fuzz_support.hpp"
#include "workflows/campaign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)nurture::workflows::parse_post_text(std::string(nurture::fuzz::as_text(data, size)), "posts/fuzz.yaml");
  return 0;
}
