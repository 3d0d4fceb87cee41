// broadcasts/*.yaml -> broadcasts: `broadcast` (id), `segment`, `at`, `timezone`, `fallback`, one of `email`, `post`,
// `webhook`, `throttle`, `split`. Segment, templates and connectors are checked by load_campaign, which knows them.

#include <algorithm>
#include <regex>

#include <date/tz.h>
#include <fmt/format.h>

#include "text/rfc3339.hpp"
#include "workflows/action_reader.hpp"
#include "workflows/campaign.hpp"
#include "workflows/yaml_reader.hpp"

namespace nurture::workflows {

const std::string& Broadcast::template_for(int variant) const {
  if (split && variant >= 0 && static_cast<std::size_t>(variant) < split->templates.size()) {
    return split->templates[static_cast<std::size_t>(variant)];
  }
  return std::visit([](const auto& action) -> const std::string& { return action.template_name; }, action);
}

const char* Broadcast::kind() const {
  if (std::holds_alternative<EmailStep>(action)) return "email";
  if (std::holds_alternative<PostStep>(action)) return "post";
  return "webhook";
}

const Broadcast* Campaign::broadcast(std::string_view id) const {
  for (const auto& b : broadcasts) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

namespace {

bool is_broadcast_id(const std::string& text) {
  if (text.empty() || text.size() > 64) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool is_zone(const std::string& name) {
  try {
    date::locate_zone(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// "2026-04-01T09:00" or "2026-04-01T09:00:00": a wall-clock time, no zone.
bool is_local_time(const std::string& text) {
  static const std::regex shape(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(:(\d{2}))?$)");
  std::smatch m;
  if (!std::regex_match(text, m, shape)) return false;
  const date::year_month_day day{date::year{std::stoi(m[1])}, date::month{static_cast<unsigned>(std::stoi(m[2]))},
                                 date::day{static_cast<unsigned>(std::stoi(m[3]))}};
  return day.ok() && std::stoi(m[4]) < 24 && std::stoi(m[5]) < 60 && (!m[7].matched || std::stoi(m[7]) < 60);
}

void read_at(YamlContext& context, MapReader& top, Broadcast& broadcast) {
  const auto at = top.string("at", true);
  if (!at) return;
  if (auto instant = text::parse_rfc3339(*at)) {
    broadcast.at = *instant;
  } else if (is_local_time(*at)) {
    broadcast.at_local = *at;
  } else {
    context.error(top["at"], fmt::format("at \"{}\" is not a time", *at),
                  "write a local time like \"2026-04-01T09:00\" (in `timezone`), or one with its zone like "
                  "\"2026-04-01T09:00:00Z\"");
  }
}

void read_zones(YamlContext& context, MapReader& top, Broadcast& broadcast) {
  if (auto zone = top.string("timezone")) {
    if (*zone == "lead") {
      broadcast.lead_timezone = true;
    } else if (is_zone(*zone)) {
      broadcast.timezone = *zone;
    } else {
      context.error(top["timezone"], fmt::format("\"{}\" is not an IANA time zone", *zone),
                    "write `lead` (each lead's own zone) or a zone like Europe/Berlin");
    }
    if (broadcast.at) {
      context.error(top["timezone"], "`at` already names its zone, so `timezone` has nothing to say",
                    "drop the zone from `at` (\"2026-04-01T09:00\") to send at a wall-clock time");
    }
  }
  if (auto fallback = top.string("fallback")) {
    broadcast.fallback = *fallback;
    if (!is_zone(*fallback)) {
      context.error(top["fallback"], fmt::format("\"{}\" is not an IANA time zone", *fallback),
                    "e.g. UTC or Europe/Berlin");
    } else if (!broadcast.lead_timezone) {
      context.error(top["fallback"], "`fallback` is the zone of leads without one, with `timezone: lead` only",
                    "add `timezone: lead` or remove `fallback`");
    }
  }
}

void read_action(YamlContext& context, MapReader& top, Broadcast& broadcast, const std::string& default_email) {
  std::vector<std::string> kinds;
  for (const char* kind : {"email", "post", "webhook"}) {
    if (top.has(kind)) kinds.emplace_back(kind);
  }
  if (kinds.size() != 1) {
    context.error(top["broadcast"],
                  kinds.empty() ? "a broadcast needs what to send"
                                : fmt::format("a broadcast sends one thing, this one has {}", fmt::join(kinds, ", ")),
                  "write one of `email: { template: NAME }`, `post: {...}` or `webhook: {...}`");
    return;
  }
  if (kinds[0] == "email") broadcast.action = read_email_action(context, top["email"], default_email);
  if (kinds[0] == "post") broadcast.action = read_post_action(context, top["post"]);
  if (kinds[0] == "webhook") broadcast.action = read_webhook_action(context, top["webhook"]);
}

std::optional<BroadcastSplit> read_split(YamlContext& context, const YAML::Node& node) {
  MapReader reader(context, node, "`split`", {"test_share", "variants", "pick_by", "wait"});
  if (!reader.ok()) return std::nullopt;
  BroadcastSplit split;
  if (auto share = reader.string("test_share", true)) {
    const int value = !share->empty() && share->find_first_not_of("0123456789") == std::string::npos &&
                              share->size() <= 3
                          ? std::stoi(*share)
                          : 0;
    if (value < 1 || value > 99) {
      context.error(reader["test_share"], fmt::format("test_share \"{}\" is not a percent from 1 to 99", *share),
                    "e.g. `test_share: 20` tests on a fifth of the segment");
    }
    split.test_share = value;
  }
  const YAML::Node variants = reader["variants"];
  if (!variants.IsDefined() || !variants.IsSequence() || variants.size() < 2) {
    context.error(variants.IsDefined() ? variants : node, "`variants` is a list of at least two",
                  "e.g. `variants: [ { template: spring_a }, { template: spring_b } ]`");
  } else {
    for (const auto& item : variants) {
      MapReader variant(context, item, "a variant", {"template"});
      split.templates.push_back(variant.string("template", true).value_or(""));
      variant.finish();
    }
  }
  split.pick_by = reader.string("pick_by").value_or("clicks");
  if (split.pick_by != "opens" && split.pick_by != "clicks") {
    context.error(reader["pick_by"], fmt::format("pick_by \"{}\" is not opens or clicks", split.pick_by),
                  "write `pick_by: clicks` (or opens)");
  }
  if (auto wait = reader.string("wait", true)) {
    if (auto duration = parse_duration(*wait)) {
      split.wait = *duration;
    } else {
      context.error(reader["wait"], fmt::format("wait \"{}\" is not a duration", *wait), "e.g. `wait: 4h`");
    }
  }
  reader.finish();
  return split;
}

Broadcast parse_broadcast(YamlContext& context, const YAML::Node& root, const std::string& default_email) {
  Broadcast broadcast;
  broadcast.where = context.where(root);
  MapReader top(context, root, "a broadcast",
                {"broadcast", "segment", "at", "timezone", "fallback", "email", "post", "webhook", "throttle", "split"});
  if (!top.ok()) return broadcast;
  if (auto id = top.string("broadcast", true)) {
    broadcast.id = *id;
    if (!is_broadcast_id(*id)) {
      context.error(top["broadcast"], fmt::format("broadcast id \"{}\" is not valid", *id),
                    "use lowercase letters, digits, `_` and `-`, at most 64");
    }
  }
  broadcast.segment = top.string("segment", true).value_or("");
  read_at(context, top, broadcast);
  read_zones(context, top, broadcast);
  read_action(context, top, broadcast, default_email);
  if (auto throttle = top.string("throttle")) {
    broadcast.throttle = parse_rate(*throttle);
    if (!broadcast.throttle) {
      context.error(top["throttle"], fmt::format("throttle \"{}\" is not N/s, N/m, N/5m or N/h", *throttle),
                    "e.g. `throttle: \"2000/m\"`");
    }
  }
  if (top.has("split")) broadcast.split = read_split(context, top["split"]);
  top.finish();
  return broadcast;
}

}  // namespace

tl::expected<Broadcast, Diagnostics> parse_broadcast_text(const std::string& text, const std::string& shown_name,
                                                          const std::string& default_email_connector) {
  Diagnostics diagnostics;
  auto root = parse_yaml_text(text, shown_name, diagnostics);
  if (!root) return tl::unexpected(std::move(diagnostics));
  YamlContext context(shown_name, diagnostics);
  Broadcast broadcast = parse_broadcast(context, *root, default_email_connector);
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return broadcast;
}

tl::expected<Broadcast, Diagnostics> load_broadcast(const std::filesystem::path& path, const std::string& shown_name,
                                                    const std::string& default_email_connector) {
  Diagnostics diagnostics;
  auto root = load_yaml_file(path.string(), shown_name, diagnostics);
  if (!root) return tl::unexpected(std::move(diagnostics));
  YamlContext context(shown_name, diagnostics);
  Broadcast broadcast = parse_broadcast(context, *root, default_email_connector);
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return broadcast;
}

}  // namespace nurture::workflows
