#include "engine/core/identity.hpp"
#include "text/encoding.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>
#include <xxhash.h>

namespace nurture::engine {

namespace {
// The identity is formatted on the stack (one id per planned action, per lead of a broadcast) and hashed to
// XXH3-128, its canonical bytes in lowercase hex.
template <typename Format, typename... Args>
std::string hashed_identity(const Format& format, const Args&... parts) {
  fmt::memory_buffer identity;
  fmt::format_to(std::back_inserter(identity), format, parts...);
  const XXH128_hash_t hash = XXH3_128bits(identity.data(), identity.size());
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  return text::hex_encode(text::bytes_of(canonical.digest, sizeof canonical.digest));
}
}  // namespace

std::string action_id(std::string_view lead, std::string_view workflow, int version, int enrollment_number,
                      std::string_view step_id, int visit) {
  return hashed_identity(FMT_COMPILE("{}\x1f{}\x1f{}\x1f{}\x1f{}\x1f{}"), lead, workflow, version, enrollment_number,
                         step_id, visit);
}

std::string post_action_id(std::string_view post, std::string_view connector) {
  return hashed_identity(FMT_COMPILE("~post\x1f{}\x1f{}"), post, connector);
}

std::string broadcast_action_id(std::string_view broadcast, std::string_view lead) {
  return hashed_identity(FMT_COMPILE("~broadcast\x1f{}\x1f{}"), broadcast, lead);
}

int partition_of(std::string_view lead, int partitions) {
  return static_cast<int>(XXH64(lead.data(), lead.size(), 0) % static_cast<unsigned long long>(partitions));
}

}  // namespace nurture::engine
