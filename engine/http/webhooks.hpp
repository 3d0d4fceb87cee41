#pragma once
// Provider webhooks for bounces and complaints: POST /webhooks/<connector name> on the tracking listener.
// The connector's type says how to read and authenticate the request (sendgrid: signed event webhook, key in
// `webhook_public_key_env`; mailgun: HMAC with `webhook_signing_key_env`; postmark: Basic auth with
// `webhook_user_env`/`webhook_password_env`). A request that fails authentication is refused with 401 and
// changes nothing; a connector without webhook keys has no endpoint (404).

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "engine/http/status_server.hpp"
#include "engine/store/store.hpp"
#include "workflows/config.hpp"

namespace nurture::engine {

class WebhookReceiver {
 public:
  // Secrets are read from the environment once, here. `store` is used from the HTTP thread only.
  WebhookReceiver(const workflows::Config& config, Store& store);

  std::optional<http::HttpAnswer> handle(const http::HttpCall& call);

 private:
  struct Endpoint {
    std::string type;
    std::string key, user, password;
  };
  std::map<std::string, Endpoint> endpoints_;  // by connector name
  Store& store_;
  std::mutex mutex_;
};

}  // namespace nurture::engine
