// segments.yaml, then the checks across segments (names that exist, no segment containing itself).
#include "tests/fuzz/fuzz_support.hpp"
#include "workflows/campaign.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = nurture::fuzz::scratch_file(nurture::fuzz::as_text(data, size), "-segments.yaml");
  auto segments = nurture::workflows::load_segments(path, "segments.yaml");
  if (!segments) return 0;
  nurture::workflows::Campaign campaign;
  campaign.segments = std::move(*segments);
  nurture::workflows::Diagnostics diagnostics;
  nurture::workflows::check_segment_references(campaign, {}, diagnostics);
  return 0;
}
