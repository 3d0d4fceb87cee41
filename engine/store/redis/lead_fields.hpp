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

#include "engine/core/lead.hpp"

namespace nurture::engine::redis {

using FieldMap = std::map<std::string, std::string>;

FieldMap pack_lead(const LeadSnapshot& lead);
LeadSnapshot unpack_lead(const std::string& id, const FieldMap& fields);

// A stream entry id (`ms-seq`) as the hash keeps it in ev and ei: `~` and both numbers in base 36, 12 bytes where
// the id takes 17 to 19, which keeps a typical lead's hash in a smaller allocation. The commit script reads both
// forms; an id kept in full (by earlier versions, or the script's evK) reads as it is.
std::string compact_stream_id(const std::string& id);
std::string full_stream_id(const std::string& stored);

}  // namespace nurture::engine::redis
