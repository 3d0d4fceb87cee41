#pragma once
// The daemon's HTTP endpoints: /healthz (the process answers), /readyz (Redis answers: 503 while it does
// not), /metrics (Prometheus text), and whatever a RequestHandler adds (provider webhooks). One thread, one object per connection; Asio and Beast stay in the .cpp.

#include "nurture/error.hpp"
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <tl/expected.hpp>

#include "engine/runtime/metrics.hpp"

namespace nurture::engine::http {

struct HttpCall {
  std::string method;  // GET, POST...
  std::string target;  // path and query
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain; charset=utf-8";
  std::map<std::string, std::string> headers;  // Location, Cache-Control...
};

// Serves what the status endpoints do not (webhooks); nothing: 404. Runs on the server's one thread.
using RequestHandler = std::function<std::optional<HttpAnswer>(const HttpCall&)>;

class StatusServer {
 public:
  // `listen` is host:port (port 0: any free one).
  static Expected<std::unique_ptr<StatusServer>> start(const std::string& listen,
                                                                        const Metrics& metrics,
                                                                        RequestHandler more = {});
  ~StatusServer();  // stops and joins
  int port() const;

 private:
  StatusServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nurture::engine::http
