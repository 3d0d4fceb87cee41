#include "engine/core/identity.hpp"
#include "text/encoding.hpp"

#include <fmt/format.h>
#include <xxhash.h>

namespace nurture::engine {

std::string action_id(std::string_view lead, std::string_view workflow, int version, int enrollment_number,
                      std::string_view step_id, int visit) {
  const std::string input =
      fmt::format("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}", lead, workflow, version, enrollment_number, step_id, visit);
  const XXH128_hash_t hash = XXH3_128bits(input.data(), input.size());
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  return text::hex_encode(text::bytes_of(canonical.digest, sizeof canonical.digest));
}

std::string post_action_id(std::string_view post, std::string_view connector) {
  const std::string input = fmt::format("~post\x1f{}\x1f{}", post, connector);
  const XXH128_hash_t hash = XXH3_128bits(input.data(), input.size());
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  return text::hex_encode(text::bytes_of(canonical.digest, sizeof canonical.digest));
}

int partition_of(std::string_view lead, int partitions) {
  return static_cast<int>(XXH64(lead.data(), lead.size(), 0) % static_cast<unsigned long long>(partitions));
}

}  // namespace nurture::engine
