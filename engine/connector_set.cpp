#include "engine/connector_set.hpp"

namespace nurture::engine {

tl::expected<ConnectorSet, workflows::Diagnostics> ConnectorSet::create(const workflows::Config& config,
                                                                        const sdk::Registry& registry) {
  ConnectorSet set;
  workflows::Diagnostics diagnostics;
  for (const auto& settings : config.connectors) {
    std::vector<sdk::ConfigProblem> problems;
    auto connector = registry.create(settings.type, settings.name, settings.values, config.base_dir, problems);
    for (const auto& problem : problems) {
      auto where = settings.where;
      if (auto it = settings.value_locations.find(problem.key); it != settings.value_locations.end()) {
        where = it->second;
      }
      diagnostics.push_back({workflows::Severity::error, where, problem.message, problem.hint});
    }
    if (connector) set.instances_[settings.name] = std::move(connector);
  }
  if (!diagnostics.empty()) return tl::unexpected(std::move(diagnostics));
  return set;
}

sdk::Connector* ConnectorSet::find(const std::string& name) const {
  auto it = instances_.find(name);
  return it == instances_.end() ? nullptr : it->second.get();
}

void ConnectorSet::add(const std::string& name, std::unique_ptr<sdk::Connector> connector) {
  instances_[name] = std::move(connector);
}

}  // namespace nurture::engine
