#pragma once
// The daemon's HTTP status endpoints: /healthz (the process answers), /readyz (Redis answers: 503 while it does
// not), /metrics (Prometheus text). One thread, one object per connection; Asio and Beast stay in the .cpp.

#include <functional>
#include <memory>
#include <string>

#include <tl/expected.hpp>

#include "engine/metrics.hpp"

namespace nurture::engine::http {

class StatusServer {
 public:
  // `listen` is host:port (port 0: any free one).
  static tl::expected<std::unique_ptr<StatusServer>, std::string> start(const std::string& listen,
                                                                        const Metrics& metrics);
  ~StatusServer();  // stops and joins
  int port() const;

 private:
  StatusServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nurture::engine::http
