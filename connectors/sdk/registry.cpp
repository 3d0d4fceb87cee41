// The registry of connector types and the checking of an instance's config against its declared keys.
// Standard C++ and the header-only error type: this library is installed for plugin authors.

#include <algorithm>
#include <charconv>

#include "nurture/sdk/connector.hpp"

namespace nurture::sdk {

namespace {
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}
}  // namespace

const char* to_string(Result::Kind kind) {
  switch (kind) {
    case Result::Kind::sent: return "sent";
    case Result::Kind::retry: return "retry";
    case Result::Kind::failed: return "failed";
    case Result::Kind::suppressed: return "suppressed";
  }
  return "unknown";
}

const char* to_string(Channel channel) {
  switch (channel) {
    case Channel::email: return "email";
    case Channel::social: return "social";
    case Channel::webhook: return "webhook";
  }
  return "unknown";
}

std::string ConnectorConfig::get(const std::string& key) const {
  auto it = values.find(key);
  return it == values.end() ? std::string{} : it->second;
}

std::filesystem::path ConnectorConfig::path(const std::string& key) const {
  std::filesystem::path p = get(key);
  if (p.empty() || p.is_absolute()) return p;
  return (base_dir / p).lexically_normal();
}

long long ConnectorConfig::integer(const std::string& key) const {
  const std::string text = get(key);
  long long value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

void Registry::add(ConnectorFactory factory) {
  std::string type = factory.type;
  factories_[type] = std::move(factory);
}

const ConnectorFactory* Registry::find(const std::string& type) const {
  auto it = factories_.find(type);
  return it == factories_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::types() const {
  std::vector<std::string> out;
  for (const auto& [type, factory] : factories_) out.push_back(type);
  return out;
}

namespace {
// Keys every instance may carry; the engine reads them (rate limits, retries), not the connector.
const std::vector<std::string> engine_keys = {"rate", "max_attempts"};

bool is_integer(const std::string& text) {
  long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}
}  // namespace

tl::expected<std::unique_ptr<Connector>, ConfigProblems> Registry::create(
    const std::string& type, const std::string& name, const std::map<std::string, std::string>& values,
    const std::filesystem::path& base_dir) const {
  auto instance = instantiate(type, name, values, base_dir);
  if (!instance) return tl::unexpected(std::move(instance.error()));
  return std::move(instance->connector);
}

tl::expected<Registry::Instance, ConfigProblems> Registry::instantiate(const std::string& type,
                                                                       const std::string& name,
                                                                       const std::map<std::string, std::string>& values,
                                                                       const std::filesystem::path& base_dir) const {
  const ConnectorFactory* factory = find(type);
  if (!factory) {
    return tl::unexpected(
        ConfigProblems{{"type", "unknown connector type \"" + type + "\"", "known types: " + joined(types())}});
  }
  ConfigProblems problems;
  ConnectorConfig config{name, {}, base_dir};
  for (const auto& [key, value] : values) {
    const std::string& given = key;  // clang 14 cannot capture a structured binding
    auto declared = std::find_if(factory->keys.begin(), factory->keys.end(),
                                 [&](const ConfigKey& k) { return k.name == given; });
    if (declared == factory->keys.end()) {
      if (std::find(engine_keys.begin(), engine_keys.end(), key) != engine_keys.end()) continue;
      std::vector<std::string> names;
      for (const auto& k : factory->keys) names.push_back(k.name);
      problems.push_back({key, "connector type \"" + type + "\" has no key \"" + key + "\"",
                          names.empty() ? "it takes no keys" : "its keys: " + joined(names)});
      continue;
    }
    if (declared->type == ConfigKey::Type::integer && !is_integer(value)) {
      problems.push_back({key, "\"" + key + "\" must be a whole number", "e.g. 4"});
      continue;
    }
    config.values[key] = value;
  }
  for (const auto& key : factory->keys) {
    if (config.values.count(key.name)) continue;
    if (key.required) {
      problems.push_back({"", "connector \"" + name + "\" needs `" + key.name + "`", key.doc});
    } else if (!key.default_value.empty()) {
      config.values[key.name] = key.default_value;
    }
  }
  if (!problems.empty()) return tl::unexpected(std::move(problems));
  auto created = factory->create(config);
  if (!created || !*created) {
    const Error why = created ? Error{"could not be created"} : created.error();
    return tl::unexpected(ConfigProblems{{"", why.message, why.hint}});
  }
  Instance instance;
  instance.connector = std::move(*created);
  if (factory->feedback) instance.feedback = factory->feedback(config);
  return instance;
}

}  // namespace nurture::sdk
