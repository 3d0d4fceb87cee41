// An out-of-tree connector plugin: push notifications through ntfy (https://ntfy.sh, or a self-hosted server).
// It publishes the post's text (or a chat alert's) to a topic: POST {base_url}/{topic}, with Title and Priority
// headers and an optional access token. Built against the installed SDK only; see CMakeLists.txt.

#include <curl/curl.h>

#include <algorithm>
#include <cstdlib>
#include <strings.h>
#include <string>

#include <nurture/sdk/plugin.hpp>

namespace {

using nurture::sdk::Result;

std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Retry-After in seconds, as ntfy's rate limiter sends it; `fallback` when absent.
std::size_t keep_retry_after(char* data, std::size_t size, std::size_t count, void* user) {
  const std::string line(data, size * count);
  if (line.size() > 12 && strncasecmp(line.c_str(), "retry-after:", 12) == 0) {
    *static_cast<long*>(user) = std::atol(line.c_str() + 12);
  }
  return size * count;
}

class NtfyConnector final : public nurture::sdk::Connector {
 public:
  NtfyConnector(std::string url, std::string title, std::string priority, std::string token, long timeout_ms)
      : url_(std::move(url)), title_(std::move(title)), priority_(std::move(priority)), token_(std::move(token)),
        timeout_ms_(timeout_ms) {}
  ~NtfyConnector() override {
    if (curl_) curl_easy_cleanup(curl_);
  }

  // Blocking libcurl, one message at a time: the engine runs this instance on a thread of its own.
  int max_in_flight() const override { return 1; }

  void send(const nurture::sdk::Action& action, nurture::sdk::Completion done) override {
    if (!curl_) curl_ = curl_easy_init();
    curl_easy_reset(curl_);
    const std::string message = action.post.text.empty() ? "nurture: " + action.workflow + " / " + action.step
                                                         : action.post.text;
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Title: " + title_).c_str());
    headers = curl_slist_append(headers, ("Priority: " + priority_).c_str());
    headers = curl_slist_append(headers, ("X-Nurture-Action: " + action.action_id).c_str());
    if (!token_.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + token_).c_str());
    std::string body;
    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, message.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms_);
    long retry_after = -1;
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, keep_retry_after);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &retry_after);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &body);
    const CURLcode code = curl_easy_perform(curl_);
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) return done(Result::retry(std::chrono::seconds(10), curl_easy_strerror(code)));
    if (status >= 200 && status < 300) return done(Result::sent(body.substr(0, body.find('\n'))));
    if (status == 429 || status >= 500) {
      return done(Result::retry(std::chrono::seconds(retry_after >= 0 ? retry_after : 30), "ntfy HTTP " + std::to_string(status)));
    }
    done(Result::failed("ntfy HTTP " + std::to_string(status) + ": " + body.substr(0, 200)));
  }

 private:
  CURL* curl_ = nullptr;
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
  factory.create = [](const nurture::sdk::ConnectorConfig& config, std::string& error)
      -> std::unique_ptr<nurture::sdk::Connector> {
    static const char* const priorities[] = {"min", "low", "default", "high", "urgent"};
    const std::string priority = config.get("priority");
    if (std::find(std::begin(priorities), std::end(priorities), priority) == std::end(priorities)) {
      error = "priority \"" + priority + "\" must be min, low, default, high or urgent";
      return nullptr;
    }
    std::string token;
    if (!config.get("token_env").empty()) {
      const char* value = std::getenv(config.get("token_env").c_str());
      if (!value) {
        error = "environment variable " + config.get("token_env") + " is not set";
        return nullptr;
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
