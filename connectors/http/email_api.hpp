#pragma once
// What the HTTP email providers share: the mailbox split, secrets from the environment, and the config keys.

#include <cstdlib>
#include <string>

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors::http {

struct Mailbox {
  std::string name;   // may be empty
  std::string email;
};

// `Name <a@b>`, `"Name" <a@b>` or `a@b`.
inline Mailbox split_mailbox(const std::string& text) {
  const auto open = text.rfind('<');
  const auto close = text.rfind('>');
  if (open == std::string::npos || close == std::string::npos || close < open) return {"", text};
  std::string name = text.substr(0, open);
  while (!name.empty() && name.back() == ' ') name.pop_back();
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  return {name, text.substr(open + 1, close - open - 1)};
}

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
