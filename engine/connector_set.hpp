#pragma once
// The configured connector instances of a campaign, created through the SDK registry. The engine looks them up
// by instance name and never includes a concrete connector.

#include <map>
#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "nurture/sdk/connector.hpp"
#include "workflows/config.hpp"

namespace nurture::engine {

class ConnectorSet {
 public:
  // Each instance's keys are checked against its type's declaration; problems carry nurture.yaml positions.
  static tl::expected<ConnectorSet, workflows::Diagnostics> create(const workflows::Config& config,
                                                                   const sdk::Registry& registry);
  sdk::Connector* find(const std::string& name) const;
  // For tests: put an instance in directly.
  void add(const std::string& name, std::unique_ptr<sdk::Connector> connector);

 private:
  std::map<std::string, std::shared_ptr<sdk::Connector>> instances_;
};

}  // namespace nurture::engine
