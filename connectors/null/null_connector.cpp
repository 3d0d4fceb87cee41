#include "connectors/null/null_connector.hpp"

namespace nurture::connectors {

namespace {
class NullConnector final : public sdk::Connector {
 public:
  void send(const sdk::Action& action, sdk::Completion done) override { done(sdk::Result::sent("null")); }
  bool needs_mime() const override { return false; }
};
}  // namespace

sdk::ConnectorFactory null_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "null";
  factory.doc = "Accepts every action and delivers nothing (benchmarks, dry runs).";
  factory.create = [](const sdk::ConnectorConfig&) -> sdk::Created {
    return std::make_unique<NullConnector>();
  };
  return factory;
}

}  // namespace nurture::connectors
