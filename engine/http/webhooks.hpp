#pragma once
// Provider webhooks for bounces and complaints: POST /webhooks/<connector name> on the tracking listener. The
// connector instance's feedback reader (offered by its type, sdk/feedback.hpp) reads and authenticates the request;
// the engine checks what it read and records it. A request the reader refuses gets 401 (unauthorized) or 400 and
// changes nothing; a connector without a reader has no endpoint (404).

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "engine/core/clock.hpp"
#include "engine/http/status_server.hpp"
#include "engine/runtime/connector_set.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

class WebhookReceiver {
 public:
  // Requests are read at `clock`'s time (signed webhooks carry timestamps checked against it).
  WebhookReceiver(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  // The connector instances whose readers serve requests; replaced on a reload (the readers read their secrets
  // when the instances are made).
  void use(std::shared_ptr<const ConnectorSet> connectors);
  std::optional<http::HttpAnswer> handle(const http::HttpCall& call);

 private:
  std::shared_ptr<const ConnectorSet> connectors_;
  Store& store_;  // used from the HTTP handler thread only
  const Clock& clock_;
  std::mutex mutex_;
};

}  // namespace nurture::engine
