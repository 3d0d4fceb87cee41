// Tracking URLs as the endpoints read them: refs, signatures and percent-encoding.
#include "templates/tracking.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace nurture;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto p = fuzz::pieces<3>(fuzz::as_text(data, size));
  static const templates::TrackingLinks links{"https://t.acme.example", "secret"};
  templates::TrackingRef ref;
  if (templates::decode_ref(p[0], ref)) {
    fuzz::require(templates::decode_ref(templates::encode_ref(ref), ref), "a ref decodes after encoding");
  }
  const std::string target = templates::percent_decode(p[1]);
  fuzz::require(templates::percent_decode(templates::percent_encode(target)) == target, "percent-encoding round-trips");
  fuzz::require(!links.verify('c', p[0], target, p[2]) || p[2] == links.signature('c', p[0], target),
                "only the right signature verifies");
  return 0;
}
