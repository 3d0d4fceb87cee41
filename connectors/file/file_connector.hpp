#pragma once
// `type: file`: writes one file per action into `dir`, named by action_id (`.eml` for email, `.json` otherwise).
// For demos, tests and audits. A second delivery of one action finds the file there, overwrites nothing and
// counts as a duplicate.

#include <atomic>
#include <filesystem>

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {

class FileConnector final : public sdk::Connector {
 public:
  explicit FileConnector(std::filesystem::path dir);
  void send(const sdk::Action& action, sdk::Completion done) override;
  int max_in_flight() const override { return 1; }
  long duplicates() const { return duplicates_.load(); }

 private:
  std::filesystem::path dir_;
  std::atomic<long> duplicates_{0};
  bool swept_ = false;
};

sdk::ConnectorFactory file_connector_factory();

}  // namespace nurture::connectors
