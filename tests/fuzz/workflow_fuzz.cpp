// The workflow language (and its conditions): YAML text to the typed model, as a reload or a pinned version reads it.
#include "tests/fuzz/fuzz_support.hpp"
#include "workflows/campaign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nurture::workflows::Diagnostics diagnostics;
  (void)nurture::workflows::parse_workflow_text(std::string(nurture::fuzz::as_text(data, size)), "fuzz.yaml",
                                                "outbox", diagnostics);
  return 0;
}
