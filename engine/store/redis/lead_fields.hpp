#pragma once
// A lead snapshot as the fields of its Redis hash, and back. Small values, so the hash stays a listpack:
//   ver  version (compare-and-set token)      ev   last front-door entry applied  ei  last inbox entry applied
//                                              (both as compact_stream_id)
//   a:N  attribute N as JSON                   e:W  enrollment in workflow W, packed
//   sc   "score,score_at_ms"                   st   stage
//   tg   tags (JSON array)                     sp   suppressed channels (JSON array)
//   ar   attribute rules already scored       h    history (JSON)      n   counts per event type (JSON)

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/lead.hpp"

namespace nurture::engine::redis {

using FieldMap = std::map<std::string, std::string>;

FieldMap pack_lead(const LeadSnapshot& lead);

// What a commit writes to go from `before` to `after` (with `after`'s version and entry ids as given): the fields
// whose packed value differs, and the fields `after` no longer has. The same as diffing pack_lead of both, without
// packing what did not change.
struct LeadFieldChanges {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> removed;
};
struct LeadStamp {
  std::uint64_t version = 0;
  std::string last_stream_id;
  std::string last_inbox_id;
};
LeadFieldChanges lead_field_changes(const LeadSnapshot& before, const LeadSnapshot& after, const LeadStamp& stamp);
LeadSnapshot unpack_lead(const std::string& id, const FieldMap& fields);
// One field of the hash into `lead` (what unpack_lead does for each): for a reply read without building a map.
void unpack_lead_field(LeadSnapshot& lead, const std::string& field, const std::string& value);

// A stream entry id (`ms-seq`) as the hash keeps it in ev, ei and evK: `~` and both numbers in base 36, 12 bytes
// where the id takes 17 to 19, which keeps a typical lead's hash in a smaller allocation (and the commit script
// reads it with strtoul, not strtod). The script reads both forms; an id kept in full (by earlier versions) reads as
// it is.
std::string compact_stream_id(const std::string& id);
std::string full_stream_id(const std::string& stored);

}  // namespace nurture::engine::redis
