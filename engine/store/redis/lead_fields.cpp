#include "engine/store/redis/lead_fields.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "text/utf8.hpp"

namespace nurture::engine::redis {

namespace {

std::set<std::string> set_from(const std::string& text) {
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  std::set<std::string> out;
  if (parsed.is_array()) {
    for (const auto& item : parsed) {
      if (item.is_string()) out.insert(item.get<std::string>());
    }
  }
  return out;
}

}  // namespace

std::string compact_stream_id(const std::string& id) {
  const char* const end = id.data() + id.size();
  std::uint64_t ms = 0, seq = 0;
  const auto [ms_end, ms_error] = std::from_chars(id.data(), end, ms);
  if (ms_error != std::errc() || ms_end == end || *ms_end != '-') return id;
  const auto [seq_end, seq_error] = std::from_chars(ms_end + 1, end, seq);
  if (seq_error != std::errc() || seq_end != end) return id;
  char out[32] = {'~'};
  char* at = std::to_chars(out + 1, out + sizeof out, ms, 36).ptr;
  *at++ = '-';
  at = std::to_chars(at, out + sizeof out, seq, 36).ptr;
  return std::string(out, at);
}

std::string full_stream_id(const std::string& stored) {
  if (!stored.starts_with('~')) return stored;
  const char* const end = stored.data() + stored.size();
  std::uint64_t ms = 0, seq = 0;
  const auto [ms_end, ms_error] = std::from_chars(stored.data() + 1, end, ms, 36);
  if (ms_error != std::errc() || ms_end == end || *ms_end != '-') return stored;
  const auto [seq_end, seq_error] = std::from_chars(ms_end + 1, end, seq, 36);
  if (seq_error != std::errc() || seq_end != end) return stored;
  return fmt::format(FMT_COMPILE("{}-{}"), ms, seq);
}

namespace {

std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string history_text(const LeadSnapshot& lead) {
  nlohmann::json history = nlohmann::json::array();
  for (const auto& h : lead.history) history.push_back({h.type, h.at_ms, h.workflow, h.step, h.action_id, h.props});
  return json_text(history);
}

std::string score_log_text(const LeadSnapshot& lead) {
  nlohmann::json log = nlohmann::json::array();
  for (const auto& s : lead.score_log) log.push_back({s.rule, s.points, s.at_ms, s.event, s.props});
  return json_text(log);
}

std::string last_touch_text(const LeadSnapshot& lead) {
  const auto& t = *lead.last_touch;
  return json_text(nlohmann::json::array({t.workflow, t.step, t.arms, t.at_ms}));
}

template <auto member>
bool same(const LeadSnapshot& a, const LeadSnapshot& b) {
  return a.*member == b.*member;
}
template <auto member>
bool has(const LeadSnapshot& lead) {
  return !(lead.*member).empty();
}
template <auto member>
std::string as_json(const LeadSnapshot& lead) {
  return json_text(nlohmann::json(lead.*member));
}

// Every field but the attributes (a:N), the enrollments (e:W) and the stamp (ver, ev, ei): when a lead has it, its
// packed text, and whether two leads hold the same value. A commit compares the values and packs only what
// changed (most transitions change none of these); a whole lead packs every one it has.
struct RestField {
  const char* name;
  bool (*present)(const LeadSnapshot&);
  std::string (*pack)(const LeadSnapshot&);
  bool (*same)(const LeadSnapshot&, const LeadSnapshot&);
};

const RestField rest_fields[] = {
    {"sc", [](const LeadSnapshot& l) { return l.score != 0; },
     [](const LeadSnapshot& l) { return fmt::format(FMT_COMPILE("{},{}"), l.score, l.score_at_ms); },
     [](const LeadSnapshot& a, const LeadSnapshot& b) { return a.score == b.score && a.score_at_ms == b.score_at_ms; }},
    {"st", has<&LeadSnapshot::stage>, [](const LeadSnapshot& l) { return l.stage; }, same<&LeadSnapshot::stage>},
    {"tg", has<&LeadSnapshot::tags>, as_json<&LeadSnapshot::tags>, same<&LeadSnapshot::tags>},
    {"sp", has<&LeadSnapshot::suppressed>, as_json<&LeadSnapshot::suppressed>, same<&LeadSnapshot::suppressed>},
    {"ar", has<&LeadSnapshot::attr_rules_scored>, as_json<&LeadSnapshot::attr_rules_scored>,
     same<&LeadSnapshot::attr_rules_scored>},
    {"h", has<&LeadSnapshot::history>, history_text, same<&LeadSnapshot::history>},
    {"sl", has<&LeadSnapshot::score_log>, score_log_text, same<&LeadSnapshot::score_log>},
    {"lt", [](const LeadSnapshot& l) { return l.last_touch.has_value(); }, last_touch_text,
     same<&LeadSnapshot::last_touch>},
    {"sth", has<&LeadSnapshot::stage_history>, as_json<&LeadSnapshot::stage_history>,
     same<&LeadSnapshot::stage_history>},
    {"n", has<&LeadSnapshot::counts>, as_json<&LeadSnapshot::counts>, same<&LeadSnapshot::counts>},
    {"sg", has<&LeadSnapshot::segments>, as_json<&LeadSnapshot::segments>, same<&LeadSnapshot::segments>},
    {"sgt", [](const LeadSnapshot& l) { return l.segments_check_ms != 0; },
     [](const LeadSnapshot& l) { return std::to_string(l.segments_check_ms); }, same<&LeadSnapshot::segments_check_ms>},
    {"bc", has<&LeadSnapshot::broadcasts>, as_json<&LeadSnapshot::broadcasts>, same<&LeadSnapshot::broadcasts>},
    {"fc", has<&LeadSnapshot::recent_sends_ms>, as_json<&LeadSnapshot::recent_sends_ms>,
     same<&LeadSnapshot::recent_sends_ms>},
};

// The stamp's fields as a lead with `version` and these stream positions has them ("" for a position it lacks).
void pack_stamp(std::uint64_t version, const std::string& stream_id, const std::string& inbox_id, FieldMap& fields) {
  fields["ver"] = std::to_string(version);
  if (!stream_id.empty()) fields["ev"] = compact_stream_id(stream_id);
  if (!inbox_id.empty()) fields["ei"] = compact_stream_id(inbox_id);
}

}  // namespace

FieldMap pack_lead(const LeadSnapshot& lead) {
  FieldMap fields;
  pack_stamp(lead.version, lead.last_stream_id, lead.last_inbox_id, fields);
  for (const auto& field : rest_fields) {
    if (field.present(lead)) fields[field.name] = field.pack(lead);
  }
  for (const auto& [name, value] : lead.attrs.items()) fields["a:" + name] = json_text(value);
  for (const auto& [workflow, enrollment] : lead.enrollments) fields["e:" + workflow] = enrollment.pack();
  return fields;
}

LeadFieldChanges lead_field_changes(const LeadSnapshot& before, const LeadSnapshot& after, const LeadStamp& stamp) {
  LeadFieldChanges changes;
  // Attributes and enrollments, most of a lead, are compared as values and packed only when changed (a transition
  // changes none or one). Values equal as JSON are not written again: 1 and 1.0 are the same number.
  for (const auto& [name, value] : after.attrs.items()) {
    const auto old = before.attrs.find(name);
    if (old == before.attrs.end() || *old != value) changes.set.emplace_back("a:" + name, json_text(value));
  }
  for (const auto& [name, value] : before.attrs.items()) {
    if (!after.attrs.contains(name)) changes.removed.push_back("a:" + name);
  }
  for (const auto& [workflow, enrollment] : after.enrollments) {
    const auto old = before.enrollments.find(workflow);
    if (old == before.enrollments.end() || !(old->second == enrollment)) {
      changes.set.emplace_back("e:" + workflow, enrollment.pack());
    }
  }
  for (const auto& [workflow, enrollment] : before.enrollments) {
    if (!after.enrollments.count(workflow)) changes.removed.push_back("e:" + workflow);
  }
  for (const auto& field : rest_fields) {
    const bool had = field.present(before), has = field.present(after);
    if (has && (!had || !field.same(before, after))) changes.set.emplace_back(field.name, field.pack(after));
    if (had && !has) changes.removed.emplace_back(field.name);
  }
  // The stamp: the version the commit gives, and the stream positions it moves (the lead's own where it moves none),
  // compared as ids and packed only when they change.
  auto position = [&](const char* field, const std::string& old_id, const std::string& new_id) {
    if (new_id == old_id) return;
    if (new_id.empty()) changes.removed.emplace_back(field);
    else changes.set.emplace_back(field, compact_stream_id(new_id));
  };
  position("ei", before.last_inbox_id, stamp.last_inbox_id.empty() ? after.last_inbox_id : stamp.last_inbox_id);
  position("ev", before.last_stream_id, stamp.last_stream_id.empty() ? after.last_stream_id : stamp.last_stream_id);
  if (stamp.version != before.version) changes.set.emplace_back("ver", std::to_string(stamp.version));
  return changes;
}

namespace {

// Most attributes are short strings without escapes, or integers: read here, not by the general parser, whose token
// buffer grows a byte at a time (nearly half the allocations of loading a lead were its). Anything else: nullopt.
std::optional<nlohmann::json> plain_scalar(std::string_view text) {
  if (text.size() >= 2 && text.front() == '"' && text.back() == '"') {
    const std::string_view inner = text.substr(1, text.size() - 2);
    const bool plain =
        std::none_of(inner.begin(), inner.end(), [](unsigned char c) { return c == '"' || c == '\\' || c < 0x20; });
    if (!plain || text::first_invalid_utf8(inner) != std::string_view::npos) return std::nullopt;
    return nlohmann::json(std::string(inner));
  }
  if (text == "true" || text == "false") return nlohmann::json(text == "true");
  if (text == "null") return nlohmann::json(nullptr);
  // JSON integers as the parser reads them: unsigned when not negative, no leading zero, no sign but '-'.
  const bool negative = text.starts_with('-');
  const std::string_view digits = text.substr(negative ? 1 : 0);
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0') ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const char* const end = text.data() + text.size();
  if (negative) {
    std::int64_t n = 0;
    if (std::from_chars(text.data(), end, n).ec != std::errc()) return std::nullopt;
    return nlohmann::json(n);
  }
  std::uint64_t n = 0;
  if (std::from_chars(text.data(), end, n).ec != std::errc()) return std::nullopt;
  return nlohmann::json(n);
}

// An attribute's stored JSON; discarded when it is not JSON even after repair.
nlohmann::json attribute_value(const std::string& text) {
  if (auto plain = plain_scalar(text)) return std::move(*plain);
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  // Stored before the door checked UTF-8, or edited by hand: kept, repaired, rather than dropped.
  if (parsed.is_discarded()) parsed = nlohmann::json::parse(text::to_valid_utf8(text), nullptr, false);
  return parsed;
}

// The stamp and the fields kept as plain text; false for any other field.
bool unpack_scalar_field(LeadSnapshot& lead, const std::string& field, const std::string& value) {
  if (field == "ver") {
    lead.version = std::stoull(value);
  } else if (field == "ev") {
    lead.last_stream_id = full_stream_id(value);
  } else if (field == "ei") {
    lead.last_inbox_id = full_stream_id(value);
  } else if (field == "sc") {
    const auto comma = value.find(',');
    lead.score = std::stod(value.substr(0, comma));
    if (comma != std::string::npos) lead.score_at_ms = std::stoll(value.substr(comma + 1));
  } else if (field == "st") {
    lead.stage = value;
  } else if (field == "sgt") {
    lead.segments_check_ms = std::atoll(value.c_str());
  } else {
    return false;
  }
  return true;
}

void unpack_history(LeadSnapshot& lead, const std::string& value) {
  auto parsed = nlohmann::json::parse(value, nullptr, false);
  if (!parsed.is_array()) return;
  for (const auto& item : parsed) {
    if (!item.is_array() || item.size() != 6) continue;
    lead.history.push_back({item[0].get<std::string>(), item[1].get<std::int64_t>(), item[2].get<std::string>(),
                            item[3].get<std::string>(), item[4].get<std::string>(), item[5]});
  }
}

void unpack_score_log(LeadSnapshot& lead, const std::string& value) {
  auto parsed = nlohmann::json::parse(value, nullptr, false);
  if (!parsed.is_array()) return;
  for (const auto& item : parsed) {
    if (!item.is_array() || item.size() != 5 || !item[0].is_string() || !item[1].is_number() ||
        !item[2].is_number_integer() || !item[3].is_string()) {
      continue;
    }
    lead.score_log.push_back({item[0].get<std::string>(), item[1].get<double>(), item[2].get<std::int64_t>(),
                              item[3].get<std::string>(), item[4]});
  }
}

// The fields kept as JSON but the attributes; a field this version does not know is left alone.
void unpack_json_field(LeadSnapshot& lead, const std::string& field, const std::string& value) {
  if (field == "tg") {
    lead.tags = set_from(value);
  } else if (field == "sp") {
    lead.suppressed = set_from(value);
  } else if (field == "ar") {
    lead.attr_rules_scored = set_from(value);
  } else if (field == "sg") {
    lead.segments = set_from(value);
  } else if (field == "h") {
    unpack_history(lead, value);
  } else if (field == "sl") {
    unpack_score_log(lead, value);
  } else if (field == "lt") {
    auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (parsed.is_array() && parsed.size() == 4 && parsed[0].is_string() && parsed[1].is_string() &&
        parsed[2].is_string() && parsed[3].is_number_integer()) {
      lead.last_touch = LeadSnapshot::Touch{parsed[0].get<std::string>(), parsed[1].get<std::string>(),
                                            parsed[2].get<std::string>(), parsed[3].get<std::int64_t>()};
    }
  } else if (field == "sth") {
    auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (!parsed.is_array()) return;
    for (const auto& item : parsed) {
      if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_number_integer()) {
        lead.stage_history.emplace_back(item[0].get<std::string>(), item[1].get<std::int64_t>());
      }
    }
  } else if (field == "bc") {
    auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (!parsed.is_object()) return;
    for (const auto& [broadcast, variant] : parsed.items()) {
      if (variant.is_number_integer()) lead.broadcasts[broadcast] = variant.get<int>();
    }
  } else if (field == "fc") {
    auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (!parsed.is_object()) return;
    for (const auto& [channel, times] : parsed.items()) {
      if (times.is_array()) lead.recent_sends_ms[channel] = times.get<std::vector<std::int64_t>>();
    }
  } else if (field == "n") {
    auto parsed = nlohmann::json::parse(value, nullptr, false);
    if (!parsed.is_object()) return;
    for (const auto& [type, count] : parsed.items()) lead.counts[type] = count.get<long>();
  }
}

}  // namespace

void unpack_lead_field(LeadSnapshot& lead, const std::string& field, const std::string& value) {
  if (field.starts_with("a:")) {
    auto parsed = attribute_value(value);
    if (!parsed.is_discarded()) lead.attrs[field.substr(2)] = std::move(parsed);
  } else if (field.starts_with("e:")) {
    if (auto enrollment = Enrollment::unpack(value)) lead.enrollments[field.substr(2)] = *enrollment;
  } else if (!unpack_scalar_field(lead, field, value)) {
    unpack_json_field(lead, field, value);
  }
}

LeadSnapshot unpack_lead(const std::string& id, const FieldMap& fields) {
  LeadSnapshot lead;
  lead.id = id;
  for (const auto& [field, value] : fields) unpack_lead_field(lead, field, value);
  return lead;
}

}  // namespace nurture::engine::redis
