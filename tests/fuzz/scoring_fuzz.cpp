// scoring.yaml.
#include "tests/fuzz/fuzz_support.hpp"
#include "workflows/campaign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = nurture::fuzz::scratch_file(nurture::fuzz::as_text(data, size), "-scoring.yaml");
  (void)nurture::workflows::load_scoring(path, "scoring.yaml");
  return 0;
}
