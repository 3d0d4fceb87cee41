#pragma once
// The engine config, nurture.yaml, as a typed model. Relative paths resolve against the
// directory of nurture.yaml.

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "workflows/attributes.hpp"
#include "workflows/diagnostic.hpp"

namespace nurture::workflows {

// One entry of `connectors:`. Values are scalars as written; the connector's factory declares and checks its keys.
struct ConnectorSettings {
  std::string name;
  std::string type;
  std::map<std::string, std::string> values;  // every key but `type`
  std::map<std::string, SourceLocation> value_locations;
  SourceLocation where;
};

struct SenderConfig {
  std::string from;
  std::string reply_to;
  std::string postal_address;
  std::string unsubscribe_mailto;  // optional `mailto:` target for List-Unsubscribe
};

// At most `max` sends per `per` on a channel, across all workflows (config `frequency_cap`); over it: skipped.
struct FrequencyCap {
  int max = 0;
  std::chrono::milliseconds per{0};
};

struct Config {
  std::filesystem::path file;      // nurture.yaml itself
  std::filesystem::path base_dir;  // its directory
  std::string redis = "auto";
  std::string key_prefix = "nurture:";
  int partitions = 16;
  int event_streams = 1;  // `events.streams`: front-door streams nurture:events, nurture:events:1 ...
  // Interpreter/dispatch workers in one process (`workers`); 0: as many as the machine has cores.
  int workers = 0;
  // `durability: replicated`: each commit batch and each batch of dispatch results waits for a replica (WAIT 1).
  bool durability_replicated = false;
  SenderConfig sender;
  std::string tracking_base_url = "http://localhost:8080";
  std::string tracking_listen = "127.0.0.1:8080";  // status (and later tracking) HTTP endpoints
  std::string tracking_secret_env = "NURTURE_SECRET";  // HMAC key of tracking links, read from the environment
  // Hosts that links made from lead data may point to and still be tracked (the templates' own hosts always are).
  std::set<std::string> tracking_allowed_hosts;
  std::string admin_listen = "127.0.0.1:8081";          // the admin API; on only when its token is set
  std::string admin_token_env = "NURTURE_ADMIN_TOKEN";
  std::string default_email_connector;
  std::string default_timezone = "UTC";
  std::map<std::string, FrequencyCap> frequency_caps;  // by channel: email, social
  std::string log_format = "text";  // `log.format`: text (people) or json (one object per line, for collectors)
  std::string log_level = "info";   // `log.level`: debug, info, warn, error
  std::vector<ConnectorSettings> connectors;
  AttributeTypes attributes;  // `attributes:`: declared lead attributes and their types
  // `attribution: { window: 30d }`: revenue (`props.amount`) goes to the last email or post sent to the lead within
  // the window. Unset: no attribution, and leads keep no last touch.
  std::optional<std::chrono::milliseconds> attribution_window;

  const ConnectorSettings* connector(std::string_view name) const;
  std::filesystem::path resolve(const std::filesystem::path& relative) const;
};

}  // namespace nurture::workflows
