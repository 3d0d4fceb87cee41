#include "engine/store/redis/lead_fields.hpp"

#include <charconv>
#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

#include "text/utf8.hpp"

namespace nurture::engine::redis {

namespace {

nlohmann::json to_json(const std::set<std::string>& items) { return nlohmann::json(items); }

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
  return fmt::format("{}-{}", ms, seq);
}

namespace {

std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Every field but the attributes (a:N) and enrollments (e:W), which lead_field_changes compares as values.
void pack_lead_rest(const LeadSnapshot& lead, FieldMap& fields) {
  fields["ver"] = std::to_string(lead.version);
  if (!lead.last_stream_id.empty()) fields["ev"] = compact_stream_id(lead.last_stream_id);
  if (!lead.last_inbox_id.empty()) fields["ei"] = compact_stream_id(lead.last_inbox_id);
  if (lead.score != 0) fields["sc"] = fmt::format("{},{}", lead.score, lead.score_at_ms);
  if (!lead.stage.empty()) fields["st"] = lead.stage;
  if (!lead.tags.empty()) fields["tg"] = json_text(to_json(lead.tags));
  if (!lead.suppressed.empty()) fields["sp"] = json_text(to_json(lead.suppressed));
  if (!lead.attr_rules_scored.empty()) fields["ar"] = json_text(to_json(lead.attr_rules_scored));
  if (!lead.history.empty()) {
    nlohmann::json history = nlohmann::json::array();
    for (const auto& h : lead.history) {
      history.push_back({h.type, h.at_ms, h.workflow, h.step, h.action_id, h.props});
    }
    fields["h"] = json_text(history);
  }
  if (!lead.score_log.empty()) {
    nlohmann::json log = nlohmann::json::array();
    for (const auto& s : lead.score_log) log.push_back({s.rule, s.points, s.at_ms, s.event, s.props});
    fields["sl"] = json_text(log);
  }
  if (lead.last_touch) {
    const auto& t = *lead.last_touch;
    fields["lt"] = json_text(nlohmann::json::array({t.workflow, t.step, t.arms, t.at_ms}));
  }
  if (!lead.stage_history.empty()) {
    fields["sth"] = json_text(nlohmann::json(lead.stage_history));
  }
  if (!lead.counts.empty()) fields["n"] = json_text(nlohmann::json(lead.counts));
  if (!lead.segments.empty()) fields["sg"] = json_text(to_json(lead.segments));
  if (lead.segments_check_ms != 0) fields["sgt"] = std::to_string(lead.segments_check_ms);
  if (!lead.broadcasts.empty()) fields["bc"] = json_text(nlohmann::json(lead.broadcasts));
  if (!lead.recent_sends_ms.empty()) fields["fc"] = json_text(nlohmann::json(lead.recent_sends_ms));
}

}  // namespace

FieldMap pack_lead(const LeadSnapshot& lead) {
  FieldMap fields;
  pack_lead_rest(lead, fields);
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
  // The rest is small: packed on both sides and compared.
  FieldMap old_fields, new_fields;
  pack_lead_rest(before, old_fields);
  pack_lead_rest(after, new_fields);
  new_fields["ver"] = std::to_string(stamp.version);
  if (!stamp.last_stream_id.empty()) new_fields["ev"] = compact_stream_id(stamp.last_stream_id);
  if (!stamp.last_inbox_id.empty()) new_fields["ei"] = compact_stream_id(stamp.last_inbox_id);
  for (auto& [field, value] : new_fields) {
    const auto old = old_fields.find(field);
    if (old == old_fields.end() || old->second != value) changes.set.emplace_back(field, std::move(value));
  }
  for (const auto& [field, value] : old_fields) {
    if (!new_fields.count(field)) changes.removed.push_back(field);
  }
  return changes;
}

LeadSnapshot unpack_lead(const std::string& id, const FieldMap& fields) {
  LeadSnapshot lead;
  lead.id = id;
  for (const auto& [field, value] : fields) {
    if (field.rfind("a:", 0) == 0) {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      // Stored before the door checked UTF-8, or edited by hand: kept, repaired, rather than dropped.
      if (parsed.is_discarded()) parsed = nlohmann::json::parse(text::to_valid_utf8(value), nullptr, false);
      if (!parsed.is_discarded()) lead.attrs[field.substr(2)] = std::move(parsed);
    } else if (field.rfind("e:", 0) == 0) {
      if (auto enrollment = Enrollment::unpack(value)) lead.enrollments[field.substr(2)] = *enrollment;
    } else if (field == "ver") {
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
    } else if (field == "tg") {
      lead.tags = set_from(value);
    } else if (field == "sp") {
      lead.suppressed = set_from(value);
    } else if (field == "ar") {
      lead.attr_rules_scored = set_from(value);
    } else if (field == "sg") {
      lead.segments = set_from(value);
    } else if (field == "sgt") {
      lead.segments_check_ms = std::atoll(value.c_str());
    } else if (field == "h") {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      if (!parsed.is_array()) continue;
      for (const auto& item : parsed) {
        if (!item.is_array() || item.size() != 6) continue;
        lead.history.push_back({item[0].get<std::string>(), item[1].get<std::int64_t>(), item[2].get<std::string>(),
                                item[3].get<std::string>(), item[4].get<std::string>(), item[5]});
      }
    } else if (field == "lt") {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      if (parsed.is_array() && parsed.size() == 4 && parsed[0].is_string() && parsed[1].is_string() &&
          parsed[2].is_string() && parsed[3].is_number_integer()) {
        lead.last_touch = LeadSnapshot::Touch{parsed[0].get<std::string>(), parsed[1].get<std::string>(),
                                              parsed[2].get<std::string>(), parsed[3].get<std::int64_t>()};
      }
    } else if (field == "sth") {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      if (!parsed.is_array()) continue;
      for (const auto& item : parsed) {
        if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_number_integer()) {
          lead.stage_history.emplace_back(item[0].get<std::string>(), item[1].get<std::int64_t>());
        }
      }
    } else if (field == "sl") {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      if (!parsed.is_array()) continue;
      for (const auto& item : parsed) {
        if (!item.is_array() || item.size() != 5 || !item[0].is_string() || !item[1].is_number() ||
            !item[2].is_number_integer() || !item[3].is_string()) {
          continue;
        }
        lead.score_log.push_back({item[0].get<std::string>(), item[1].get<double>(), item[2].get<std::int64_t>(),
                                  item[3].get<std::string>(), item[4]});
      }
    } else if (field == "bc") {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      if (!parsed.is_object()) continue;
      for (const auto& [broadcast, variant] : parsed.items()) {
        if (variant.is_number_integer()) lead.broadcasts[broadcast] = variant.get<int>();
      }
    } else if (field == "fc") {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      if (parsed.is_object()) {
        for (const auto& [channel, times] : parsed.items()) {
          if (times.is_array()) lead.recent_sends_ms[channel] = times.get<std::vector<std::int64_t>>();
        }
      }
    } else if (field == "n") {
      auto parsed = nlohmann::json::parse(value, nullptr, false);
      if (parsed.is_object()) {
        for (const auto& [type, count] : parsed.items()) lead.counts[type] = count.get<long>();
      }
    }
  }
  return lead;
}

}  // namespace nurture::engine::redis
