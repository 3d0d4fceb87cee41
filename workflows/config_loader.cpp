// nurture.yaml -> Config. Every documented key is known; those whose feature this engine does not have
// yet are refused by name, so nobody believes a setting took effect when it did not.

#include <charconv>

#include <fmt/format.h>

#include "text/address.hpp"
#include "text/url.hpp"
#include "workflows/campaign.hpp"
#include "workflows/duration.hpp"
#include "workflows/yaml_reader.hpp"

namespace nurture::workflows {

namespace {

std::optional<int> positive_int(YamlContext& context, const YAML::Node& node, std::string_view what) {
  auto text = context.scalar(node, what);
  if (!text) return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value <= 0) {
    context.error(node, fmt::format("{} must be a whole number above 0", what), "e.g. 16");
    return std::nullopt;
  }
  return value;
}

void parse_sender(YamlContext& context, const YAML::Node& node, SenderConfig& sender) {
  MapReader reader(context, node, "`sender`", {"from", "reply_to", "postal_address", "unsubscribe_mailto"});
  sender.from = reader.string("from", true).value_or("");
  sender.reply_to = reader.string("reply_to").value_or("");
  sender.postal_address = reader.string("postal_address").value_or("");
  sender.unsubscribe_mailto = reader.string("unsubscribe_mailto").value_or("");
  // Checked here, once, rather than failing every send: each becomes a header or an SMTP command.
  for (const char* key : {"from", "reply_to"}) {
    const std::string& value = std::string(key) == "from" ? sender.from : sender.reply_to;
    if (!value.empty() && !text::parse_mailbox(value)) {
      context.error(reader[key], fmt::format("`sender.{}` \"{}\" is not a mail address", key, value),
                    "write it as `Name <local@domain>` or `local@domain`");
    }
  }
  if (!sender.unsubscribe_mailto.empty() && !text::parse_address(sender.unsubscribe_mailto)) {
    context.error(reader["unsubscribe_mailto"], "`sender.unsubscribe_mailto` is not a mail address",
                  "e.g. unsubscribe@acme.example");
  }
  reader.finish();
}

void parse_connectors(YamlContext& context, const YAML::Node& node, Config& config) {
  if (!node.IsMap()) {
    context.error(node, "`connectors` must be a map of name: {type: ..., ...}",
                  "e.g. `outbox: { type: file, dir: ./outbox }`");
    return;
  }
  for (const auto& entry : node) {
    ConnectorSettings settings;
    settings.name = entry.first.as<std::string>("");
    settings.where = context.where(entry.first);
    const YAML::Node body = entry.second;
    if (!body.IsMap()) {
      context.error(body, fmt::format("connector \"{}\" must be a map with a `type`", settings.name),
                    "e.g. `{ type: file, dir: ./outbox }`");
      continue;
    }
    for (const auto& item : body) {
      const std::string key = item.first.as<std::string>("");
      // `type: null` is the null connector, though YAML reads a plain `null` as no value at all.
      if (key == "type" && item.second.IsNull()) {
        settings.type = "null";
        continue;
      }
      auto value = context.scalar(item.second, fmt::format("`{}.{}`", settings.name, key));
      if (!value) continue;
      if (key == "type") {
        settings.type = *value;
      } else {
        settings.values[key] = *value;
        settings.value_locations[key] = context.where(item.second);
      }
    }
    if (settings.type.empty()) {
      context.error(entry.first, fmt::format("connector \"{}\" has no `type`", settings.name),
                    "add `type: smtp` (or file, null, ...)");
    }
    config.connectors.push_back(std::move(settings));
  }
}

// `events: { streams: 1 }`: one ingress stream is all this version has.
void parse_events(YamlContext& context, const YAML::Node& node, Config& config) {
  MapReader events(context, node, "`events`", {"streams"});
  if (events.has("streams")) {
    auto streams = positive_int(context, events["streams"], "`events.streams`");
    if (streams && *streams > 64) {
      context.error(events["streams"], fmt::format("events.streams: {} is more than 64", *streams),
                    "one stream takes a few hundred thousand events a second; a few are plenty");
    } else if (streams) {
      config.event_streams = *streams;
    }
  }
  events.finish();
}

// Hosts whose links are tracked although lead data chose them: bare names, kept in lower case.
void parse_allowed_hosts(YamlContext& context, const YAML::Node& hosts, Config& config) {
  if (!hosts.IsSequence()) {
    context.error(hosts, "`tracking.allowed_hosts` must be a list of host names", "e.g. [www.acme.example]");
    return;
  }
  for (const auto& host : hosts) {
    if (!host.IsScalar() || host.Scalar().empty() || host.Scalar().find_first_of("/:{} ") != std::string::npos) {
      context.error(host, "a host name without scheme, port or path", "e.g. www.acme.example");
      continue;
    }
    std::string lower = host.Scalar();
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    config.tracking_allowed_hosts.insert(lower);
  }
}

void parse_tracking(YamlContext& context, const YAML::Node& node, Config& config) {
  MapReader tracking(context, node, "`tracking`", {"base_url", "listen", "secret_env", "allowed_hosts"});
  if (tracking.has("allowed_hosts")) parse_allowed_hosts(context, tracking["allowed_hosts"], config);
  config.tracking_base_url = tracking.string("base_url").value_or(config.tracking_base_url);
  config.tracking_listen = tracking.string("listen").value_or(config.tracking_listen);
  config.tracking_secret_env = tracking.string("secret_env").value_or(config.tracking_secret_env);
  tracking.finish();
}

void parse_admin(YamlContext& context, const YAML::Node& node, Config& config) {
  MapReader admin(context, node, "`admin`", {"listen", "token_env"});
  config.admin_listen = admin.string("listen").value_or(config.admin_listen);
  config.admin_token_env = admin.string("token_env").value_or(config.admin_token_env);
  admin.finish();
}

void parse_defaults(YamlContext& context, const YAML::Node& node, Config& config) {
  MapReader defaults(context, node, "`defaults`", {"email", "timezone"});
  config.default_email_connector = defaults.string("email").value_or("");
  config.default_timezone = defaults.string("timezone").value_or(config.default_timezone);
  defaults.finish();
}

// `log: { format: text|json, level: debug|info|warn|error }`
void parse_log(YamlContext& context, const YAML::Node& node, Config& config) {
  MapReader log(context, node, "`log`", {"format", "level"});
  if (auto format = log.string("format")) {
    if (*format == "text" || *format == "json") config.log_format = *format;
    else context.error(log["format"], fmt::format("log format \"{}\" is not text or json", *format), "text or json");
  }
  if (auto level = log.string("level")) {
    static const std::set<std::string> levels = {"debug", "info", "warn", "error"};
    if (levels.count(*level)) config.log_level = *level;
    else context.error(log["level"], fmt::format("log level \"{}\" is not one of debug, info, warn, error", *level),
                       "info is the default");
  }
  log.finish();
}

// `frequency_cap: { email: { max: 3, per: 7d }, social: ... }`; a cap missing either part is an error, not kept.
void parse_frequency_caps(YamlContext& context, const YAML::Node& node, Config& config) {
  MapReader caps(context, node, "`frequency_cap`", {"email", "social"});
  for (const std::string channel : {"email", "social"}) {
    if (!caps.has(channel)) continue;
    const std::string what = "`frequency_cap." + channel + "`";
    MapReader cap(context, caps[channel], what, {"max", "per"});
    FrequencyCap parsed;
    if (cap.has("max")) parsed.max = positive_int(context, cap["max"], what + ".max").value_or(0);
    else context.error(caps[channel], what + " needs `max`", "e.g. { max: 3, per: 7d }");
    if (auto per = cap.string("per", true)) {
      if (auto duration = parse_duration(*per); duration && duration->count() > 0) {
        parsed.per = *duration;
      } else {
        context.error(cap["per"], fmt::format("{}.per \"{}\" is not a duration", what, *per), "e.g. 7d, 24h");
      }
    }
    cap.finish();
    if (parsed.max > 0 && parsed.per.count() > 0) config.frequency_caps[channel] = parsed;
  }
  caps.finish();
}

// `attributes: { seats: number, trial_ends: date, ... }`
void parse_attributes(YamlContext& context, const YAML::Node& node, Config& config) {
  if (!node.IsMap()) {
    context.error(node, "`attributes` must be a map of attribute: type", "e.g. `attributes: { seats: number }`");
    return;
  }
  for (const auto& entry : node) {
    const std::string name = entry.first.as<std::string>("");
    auto type_name = context.scalar(entry.second, fmt::format("`attributes.{}`", name));
    if (!type_name) continue;
    if (name.empty() || name.find_first_of(" .{}") != std::string::npos) {
      context.error(entry.first, fmt::format("\"{}\" is not an attribute name", name),
                    "letters, digits and _ (e.g. trial_ends)");
      continue;
    }
    if (auto type = parse_attribute_type(*type_name)) {
      config.attributes[name] = *type;
    } else {
      context.error(entry.second, fmt::format("attribute type \"{}\" is not known", *type_name),
                    "string, number, boolean, date, email or timezone");
    }
  }
}

}  // namespace

const ConnectorSettings* Config::connector(std::string_view name) const {
  for (const auto& c : connectors) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::filesystem::path Config::resolve(const std::filesystem::path& relative) const {
  if (relative.is_absolute()) return relative;
  return (base_dir / relative).lexically_normal();
}

tl::expected<Config, Diagnostics> load_config(const std::filesystem::path& path, const std::string& shown_name) {
  Diagnostics diagnostics;
  auto root = load_yaml_file(path.string(), shown_name, diagnostics);
  if (!root) return tl::unexpected(std::move(diagnostics));
  YamlContext context(shown_name, diagnostics);

  Config config;
  config.file = std::filesystem::absolute(path);
  config.base_dir = config.file.parent_path();
  if (root->IsNull()) return config;  // an empty file: every default

  MapReader top(context, *root, "nurture.yaml",
                {"redis", "key_prefix", "partitions", "events", "sender", "tracking", "admin", "defaults",
                 "frequency_cap", "workers", "durability", "connectors", "log", "attributes", "attribution"});
  if (!top.ok()) return tl::unexpected(std::move(diagnostics));

  config.redis = top.string("redis").value_or(config.redis);
  if (config.redis != "auto") {
    if (auto address = text::parse_redis_url(config.redis); !address) {
      context.error(top["redis"], fmt::format("`redis` \"{}\": {}", config.redis, address.error()),
                    "auto (a private redis-server), redis://host:6379/0, unix:///run/redis/redis.sock or "
                    "redis-cluster://host1:7000,host2:7001");
    }
  }
  config.key_prefix = top.string("key_prefix").value_or(config.key_prefix);
  if (top.has("partitions")) {
    config.partitions = positive_int(context, top["partitions"], "`partitions`").value_or(config.partitions);
  }
  if (top.has("events")) parse_events(context, top["events"], config);
  if (auto durability = top.string("durability")) {
    if (*durability != "async" && *durability != "replicated") {
      context.error(top["durability"], fmt::format("durability \"{}\" is not known", *durability),
                    "async (the default) or replicated (each commit waits for a replica)");
    }
    config.durability_replicated = *durability == "replicated";
  }
  if (top.has("sender")) parse_sender(context, top["sender"], config.sender);
  if (top.has("tracking")) parse_tracking(context, top["tracking"], config);
  if (top.has("admin")) parse_admin(context, top["admin"], config);
  if (top.has("defaults")) parse_defaults(context, top["defaults"], config);
  if (top.has("frequency_cap")) parse_frequency_caps(context, top["frequency_cap"], config);
  if (top.has("log")) parse_log(context, top["log"], config);
  if (top.has("workers")) {
    if (auto workers = positive_int(context, top["workers"], "`workers`")) {
      if (*workers > 64) {
        context.error(top["workers"], fmt::format("workers: {} is more than 64", *workers),
                      "one per core is the most that helps; leave it out for the machine's cores");
      } else {
        config.workers = *workers;
      }
    }
  }
  if (top.has("attributes")) parse_attributes(context, top["attributes"], config);
  if (top.has("attribution")) {
    MapReader attribution(context, top["attribution"], "`attribution`", {"window"});
    if (auto window = attribution.string("window", true)) {
      if (auto duration = parse_duration(*window); duration && duration->count() > 0) {
        config.attribution_window = *duration;
      } else {
        context.error(attribution["window"], fmt::format("`attribution.window` \"{}\" is not a duration", *window),
                      "e.g. 30d");
      }
    }
    attribution.finish();
  }
  if (top.has("connectors")) parse_connectors(context, top["connectors"], config);
  top.finish();

  if (!config.default_email_connector.empty() && !config.connector(config.default_email_connector)) {
    context.error(top["defaults"]["email"],
                  fmt::format("`defaults.email` names connector \"{}\", which is not configured",
                              config.default_email_connector),
                  "add it under `connectors:`");
  }
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return config;
}

}  // namespace nurture::workflows
