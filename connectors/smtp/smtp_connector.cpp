// SMTP over libcurl's easy interface. The handle is kept between messages so libcurl reuses the open connection;
// sends are serialised (max_in_flight 1) and the engine gives the connector its own thread.

#include "connectors/smtp/smtp_connector.hpp"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <curl/curl.h>
#include <fmt/format.h>

namespace nurture::connectors {

namespace {

std::string envelope_address(const std::string& mailbox) {
  const auto open = mailbox.rfind('<');
  const auto close = mailbox.rfind('>');
  if (open != std::string::npos && close != std::string::npos && close > open) {
    return mailbox.substr(open + 1, close - open - 1);
  }
  return mailbox;
}

struct UploadCursor {
  const std::string* data;
  std::size_t offset = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* cursor = static_cast<UploadCursor*>(user);
  const std::size_t room = size * count;
  const std::size_t left = cursor->data->size() - cursor->offset;
  const std::size_t n = std::min(room, left);
  std::memcpy(buffer, cursor->data->data() + cursor->offset, n);
  cursor->offset += n;
  return n;
}

// libcurl's error text says only "RCPT failed: 550"; the server's own reply line carries the enhanced status
// code (5.1.1) that tells a hard bounce from a policy refusal, so the replies are kept from the debug stream.
int keep_server_reply(CURL*, curl_infotype type, char* data, std::size_t size, void* user) {
  // Only refusals (4xx/5xx): after one, libcurl says QUIT and the "221 Bye" that follows is not the answer.
  if (type == CURLINFO_HEADER_IN && size >= 3 && (data[0] == '4' || data[0] == '5')) {
    std::string line(data, size);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    *static_cast<std::string*>(user) = line;
  }
  return 0;
}

class SmtpConnector final : public sdk::Connector {
 public:
  SmtpConnector(std::string url, long timeout_ms, std::string username, std::string password)
      : url_(std::move(url)), timeout_ms_(timeout_ms), username_(std::move(username)),
        password_(std::move(password)) {}
  ~SmtpConnector() override {
    if (curl_) curl_easy_cleanup(curl_);
  }

  int max_in_flight() const override { return 1; }

  void send(const sdk::Action& action, sdk::Completion done) override {
    std::lock_guard lock(mutex_);
    if (!curl_) curl_ = curl_easy_init();
    if (!curl_) {
      done(sdk::Result::retry(std::chrono::seconds(5), "libcurl could not start"));
      return;
    }
    curl_easy_reset(curl_);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    const std::string from = "<" + envelope_address(action.email.from) + ">";
    const std::string to = "<" + envelope_address(action.email.to) + ">";
    curl_slist* recipients = curl_slist_append(nullptr, to.c_str());
    UploadCursor cursor{&action.email.mime};

    curl_easy_setopt(curl_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(curl_, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl_, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl_, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(curl_, CURLOPT_READDATA, &cursor);
    curl_easy_setopt(curl_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(action.email.mime.size()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, timeout_ms_);
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(timeout_ms_, 10000));
    curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    std::string last_reply;
    curl_easy_setopt(curl_, CURLOPT_DEBUGFUNCTION, keep_server_reply);
    curl_easy_setopt(curl_, CURLOPT_DEBUGDATA, &last_reply);
    curl_easy_setopt(curl_, CURLOPT_VERBOSE, 1L);
    if (!username_.empty()) {
      curl_easy_setopt(curl_, CURLOPT_USERNAME, username_.c_str());
      curl_easy_setopt(curl_, CURLOPT_PASSWORD, password_.c_str());
    }

    const CURLcode code = curl_easy_perform(curl_);
    long reply = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &reply);
    curl_slist_free_all(recipients);

    if (code == CURLE_OK) {
      done(sdk::Result::sent(fmt::format("smtp:{}", reply)));
      return;
    }
    const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(code);
    if (reply >= 400) {
      done(classify_smtp_reply(reply, last_reply.empty() ? detail : last_reply));
      return;
    }
    // No SMTP reply to judge by: connection refused, timeout, TLS... all transient from our side.
    done(sdk::Result::retry(std::chrono::seconds(5), fmt::format("smtp: {}", detail)));
  }

 private:
  std::mutex mutex_;
  CURL* curl_ = nullptr;
  std::string url_;
  long timeout_ms_;
  std::string username_;
  std::string password_;
};

std::string from_env(const std::string& variable) {
  if (variable.empty()) return {};
  const char* value = std::getenv(variable.c_str());
  return value ? value : "";
}

}  // namespace

sdk::Result classify_smtp_reply(long reply_code, const std::string& reply_text) {
  const std::string reason = fmt::format("smtp {}: {}", reply_code, reply_text);
  if (reply_code >= 500) {
    // 5.1.1 "bad destination mailbox address": the address does not exist; never try it again.
    if (reply_text.find("5.1.1") != std::string::npos) return sdk::Result::suppressed(reason);
    return sdk::Result::failed(reason);
  }
  return sdk::Result::retry(std::chrono::seconds(30), reason);
}

sdk::ConnectorFactory smtp_connector_factory() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  sdk::ConnectorFactory factory;
  factory.type = "smtp";
  factory.doc = "Sends email over SMTP (smtp:// or smtps://).";
  factory.keys = {
      {"url", sdk::ConfigKey::Type::url, true, "", "smtp://host:port or smtps://host:port"},
      {"pool", sdk::ConfigKey::Type::integer, false, "1", "connections to keep open (this version uses one)"},
      {"timeout_ms", sdk::ConfigKey::Type::integer, false, "30000", "give up on one message after this long"},
      {"username_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the user"},
      {"password_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the password"},
  };
  factory.create = [](const sdk::ConnectorConfig& config, std::string& error) -> std::unique_ptr<sdk::Connector> {
    const std::string url = config.get("url");
    if (url.rfind("smtp://", 0) != 0 && url.rfind("smtps://", 0) != 0) {
      error = fmt::format("url \"{}\" must start with smtp:// or smtps://", url);
      return nullptr;
    }
    return std::make_unique<SmtpConnector>(url, static_cast<long>(config.integer("timeout_ms")),
                                           from_env(config.get("username_env")),
                                           from_env(config.get("password_env")));
  };
  return factory;
}

}  // namespace nurture::connectors
