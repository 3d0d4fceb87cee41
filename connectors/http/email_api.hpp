#pragma once
// What the HTTP email providers share: secrets from the environment.

#include <cstdlib>
#include <string>

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors::http {

inline std::string secret_from_env(const sdk::ConnectorConfig& config, const std::string& key, std::string& error) {
  const std::string variable = config.get(key);
  const char* value = variable.empty() ? nullptr : std::getenv(variable.c_str());
  if (value == nullptr || *value == '\0') {
    error = "environment variable " + variable + " (" + key + ") is not set";
    return {};
  }
  return value;
}

}  // namespace nurture::connectors::http
