// An out-of-tree connector plugin: push notifications through ntfy (https://ntfy.sh, or a self-hosted server).
// It publishes the post's text (or a chat alert's) to a topic: POST {base_url}/{topic}, with Title and Priority
// headers and an optional access token. Built against the installed SDK only; see CMakeLists.txt.

#include <algorithm>
#include <cstdlib>
#include <string>

#include <nurture/sdk/http.hpp>
#include <nurture/sdk/plugin.hpp>

namespace {

namespace http = nurture::sdk::http;

class NtfyConnector final : public nurture::sdk::Connector {
 public:
  NtfyConnector(std::string url, std::string title, std::string priority, std::string token, long timeout_ms)
      : url_(std::move(url)), title_(std::move(title)), priority_(std::move(priority)), token_(std::move(token)),
        timeout_ms_(timeout_ms) {}

  // Asynchronous through the SDK's HTTP driver: many publishes in flight, none holding up the engine.
  void send(const nurture::sdk::Action& action, nurture::sdk::Completion done) override {
    http::Request request;
    request.url = url_;
    request.body = action.post.text.empty() ? "nurture: " + action.workflow + " / " + action.step : action.post.text;
    request.headers = {{"Title", title_}, {"Priority", priority_}, {"X-Nurture-Action", action.action_id}};
    if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
    request.timeout = std::chrono::milliseconds(timeout_ms_);
    http::Client::shared().perform(std::move(request), [done = std::move(done)](http::Response response) {
      // 2xx sent (ntfy answers the message as JSON; its first line is the id), 408/429/5xx and transport errors
      // retry after Retry-After, other 4xx failed.
      done(http::classify(response, response.body.substr(0, response.body.find('\n')), "ntfy"));
    });
  }

 private:
  std::string url_, title_, priority_, token_;
  long timeout_ms_;
};

nurture::sdk::ConnectorFactory ntfy_factory() {
  nurture::sdk::ConnectorFactory factory;
  factory.type = "ntfy";
  factory.doc = "Push notifications through an ntfy topic.";
  using Type = nurture::sdk::ConfigKey::Type;
  factory.keys = {
      {"topic", Type::string, true, "", "the topic to publish to"},
      {"base_url", Type::url, false, "https://ntfy.sh", "the ntfy server"},
      {"title", Type::string, false, "nurture", "notification title"},
      {"priority", Type::string, false, "default", "min, low, default, high or urgent"},
      {"token_env", Type::secret_env, false, "", "environment variable holding an access token"},
      {"timeout_ms", Type::integer, false, "15000", "give up on one publish after this long (retry)"},
  };
  factory.create = [](const nurture::sdk::ConnectorConfig& config) -> nurture::sdk::Created {
    static const char* const priorities[] = {"min", "low", "default", "high", "urgent"};
    const std::string priority = config.get("priority");
    if (std::find(std::begin(priorities), std::end(priorities), priority) == std::end(priorities)) {
      return nurture::fail("priority \"" + priority + "\" must be min, low, default, high or urgent");
    }
    std::string token;
    if (!config.get("token_env").empty()) {
      const char* value = std::getenv(config.get("token_env").c_str());
      if (!value) {
        return nurture::fail("environment variable " + config.get("token_env") + " is not set", {},
                             "export it in the daemon's environment");
      }
      token = value;
    }
    return std::make_unique<NtfyConnector>(config.get("base_url") + "/" + config.get("topic"), config.get("title"),
                                           priority, token, static_cast<long>(config.integer("timeout_ms")));
  };
  return factory;
}

}  // namespace

NURTURE_EXPORT_CONNECTOR(ntfy_factory)
