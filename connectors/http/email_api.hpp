#pragma once
// What the HTTP email providers share: secrets from the environment.

#include <cstdlib>
#include <string>

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors::http {

// The environment variable named by `key`; "" when the key or the variable is unset (an optional secret).
inline std::string secret_from_env(const sdk::ConnectorConfig& config, const std::string& key) {
  const std::string variable = config.get(key);
  const char* value = variable.empty() ? nullptr : std::getenv(variable.c_str());
  return value ? value : "";
}

// A required secret, or why it is missing.
inline Expected<std::string> required_secret(const sdk::ConnectorConfig& config, const std::string& key) {
  std::string value = secret_from_env(config, key);
  if (value.empty()) {
    return fail("environment variable " + config.get(key) + " (" + key + ") is not set", {},
                "export it in the daemon's environment");
  }
  return value;
}

}  // namespace nurture::connectors::http
