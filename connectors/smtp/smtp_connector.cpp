// SMTP over libcurl's easy interface, one handle per pooled connection: libcurl keeps a handle's connection open
// between transfers, so each worker thread owns one handle and one connection.

#include "connectors/smtp/smtp_connector.hpp"

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <curl/curl.h>
#include <fmt/format.h>

#include <optional>

#include "connectors/smtp/dkim.hpp"
#include "text/address.hpp"
#include "text/utf8.hpp"

namespace nurture::connectors {

namespace {

// The address for MAIL FROM / RCPT TO, parsed strictly again here where it leaves: a CR or LF can never reach
// an SMTP command, whatever the engine handed over.
std::optional<std::string> envelope_address(const std::string& mailbox) {
  auto parsed = text::parse_mailbox(mailbox);
  if (!parsed) return std::nullopt;
  return "<" + parsed->address + ">";
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

struct SmtpSettings {
  std::string url;
  long timeout_ms = 30000;
  long tls = CURLUSESSL_TRY;
  std::string ca_file;
  std::string username;
  std::string password;
  std::unique_ptr<DkimSigner> dkim;
};

class SmtpConnector final : public sdk::Connector {
 public:
  // A mail server's bounce (DSN, read by `nurture dsn`) names the message, not the lead.
  bool feedback_names_only_the_message() const override { return true; }
  SmtpConnector(SmtpSettings settings, int pool) : settings_(std::move(settings)) {
    for (int i = 0; i < pool; ++i) workers_.emplace_back([this] { work(); });
  }
  ~SmtpConnector() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) worker.join();
  }

  // The queue is bounded; past it a send is answered `retry` at once rather than waiting behind a stuck relay.
  void send(const sdk::Action& action, sdk::Completion done) override {
    {
      std::lock_guard lock(mutex_);
      if (queue_.size() >= max_queued) {
        done(sdk::Result::retry(std::chrono::seconds(5), "smtp: the connector's queue is full"));
        return;
      }
      queue_.push_back({action, std::move(done)});
    }
    wake_.notify_one();
  }

 private:
  struct Job {
    sdk::Action action;
    sdk::Completion done;
  };
  static constexpr std::size_t max_queued = 4096;

  void work() {
    CURL* curl = curl_easy_init();
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) break;  // stopping, nothing left
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      // Past its deadline the engine has given up on this send and will retry it: sending now could send twice.
      if (job.action.past_deadline()) {
        job.done(sdk::Result::retry(std::chrono::seconds(1), "smtp: its deadline passed while it was queued"));
        continue;
      }
      job.done(curl ? deliver(curl, job.action)
                    : sdk::Result::retry(std::chrono::seconds(5), "libcurl could not start"));
    }
    if (curl) curl_easy_cleanup(curl);
  }

  sdk::Result deliver(CURL* curl, const sdk::Action& action) const {
    // curl_easy_reset keeps the handle's open connection: the next message reuses it.
    curl_easy_reset(curl);
    char error_buffer[CURL_ERROR_SIZE] = {0};
    const auto from_address = envelope_address(action.email.from);
    const auto to_address = envelope_address(action.email.to);
    if (!from_address || !to_address) {
      return sdk::Result::failed(fmt::format("smtp: the {} address is not a mail address", from_address ? "To" : "From"));
    }
    const std::string& from = *from_address;
    const std::string& to = *to_address;
    curl_slist* recipients = curl_slist_append(nullptr, to.c_str());
    const std::string message =
        settings_.dkim ? settings_.dkim->sign(action.email.mime, static_cast<long long>(std::time(nullptr)))
                       : action.email.mime;
    UploadCursor cursor{&message};

    curl_easy_setopt(curl, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_upload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &cursor);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, settings_.timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(settings_.timeout_ms, 10000));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, settings_.tls);
    if (!settings_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.ca_file.c_str());
    std::string last_reply;
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, keep_server_reply);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &last_reply);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
    if (!settings_.username.empty()) {
      curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.username.c_str());
      curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str());
    }

    const CURLcode code = curl_easy_perform(curl);
    long reply = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply);
    curl_slist_free_all(recipients);

    if (code == CURLE_OK) return sdk::Result::sent(fmt::format("smtp:{}", reply));
    const std::string detail = text::to_valid_utf8(error_buffer[0] ? error_buffer : curl_easy_strerror(code));
    if (code == CURLE_LOGIN_DENIED) return sdk::Result::failed(fmt::format("smtp: authentication refused: {}", detail));
    if (code == CURLE_USE_SSL_FAILED) {
      return sdk::Result::retry(std::chrono::seconds(60), fmt::format("smtp: the server offers no STARTTLS: {}", detail));
    }
    if (reply >= 400) return classify_smtp_reply(reply, last_reply.empty() ? detail : last_reply);
    // No SMTP reply to judge by: connection refused, timeout, TLS... all transient from our side.
    return sdk::Result::retry(std::chrono::seconds(5), fmt::format("smtp: {}", detail));
  }

  SmtpSettings settings_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

std::string from_env(const std::string& variable) {
  if (variable.empty()) return {};
  const char* value = std::getenv(variable.c_str());
  return value ? value : "";
}

}  // namespace

sdk::Result classify_smtp_reply(long reply_code, const std::string& raw_reply_text) {
  // A server may answer in Latin-1 or worse: the reason is kept, as valid UTF-8.
  const std::string reply_text = text::to_valid_utf8(text::truncate_utf8(raw_reply_text, 1000));
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
  factory.doc = "Sends email over SMTP (smtp:// with STARTTLS, or smtps://), pooled connections, optional DKIM.";
  factory.keys = {
      {"url", sdk::ConfigKey::Type::url, true, "", "smtp://host:port or smtps://host:port"},
      {"pool", sdk::ConfigKey::Type::integer, false, "4", "connections kept open, each sending one message at a time"},
      {"timeout_ms", sdk::ConfigKey::Type::integer, false, "30000", "give up on one message after this long"},
      {"tls", sdk::ConfigKey::Type::string, false, "try",
       "STARTTLS on smtp://: try (when offered), required, or off"},
      {"ca_file", sdk::ConfigKey::Type::path, false, "", "CA bundle to verify the server with (default: the system's)"},
      {"username_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the AUTH user"},
      {"password_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the AUTH password"},
      {"dkim_key", sdk::ConfigKey::Type::path, false, "", "PEM private key (RSA or Ed25519) to DKIM-sign with"},
      {"dkim_selector", sdk::ConfigKey::Type::string, false, "", "DKIM selector (the DNS name selector._domainkey)"},
      {"dkim_domain", sdk::ConfigKey::Type::string, false, "", "DKIM d= domain, the From domain or a parent of it (required with dkim_key)"},
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    SmtpSettings settings;
    settings.url = config.get("url");
    if (settings.url.rfind("smtp://", 0) != 0 && settings.url.rfind("smtps://", 0) != 0) {
      return fail(fmt::format("url \"{}\" must start with smtp:// or smtps://", settings.url));
    }
    const std::string tls = config.get("tls");
    if (tls == "try") settings.tls = CURLUSESSL_TRY;
    else if (tls == "required") settings.tls = CURLUSESSL_ALL;
    else if (tls == "off") settings.tls = CURLUSESSL_NONE;
    else {
      return fail(fmt::format("tls \"{}\" must be try, required or off", tls));
    }
    const long long pool = config.integer("pool");
    if (pool < 1 || pool > 64) {
      return fail(fmt::format("pool {} must be between 1 and 64", pool));
    }
    settings.timeout_ms = static_cast<long>(config.integer("timeout_ms"));
    if (!config.get("ca_file").empty()) settings.ca_file = config.path("ca_file").string();
    settings.username = from_env(config.get("username_env"));
    settings.password = from_env(config.get("password_env"));
    if (!config.get("dkim_key").empty()) {
      if (config.get("dkim_selector").empty() || config.get("dkim_domain").empty()) {
        return fail("dkim_key needs dkim_selector and dkim_domain");
      }
      auto signer = DkimSigner::load(config.path("dkim_key"), config.get("dkim_selector"), config.get("dkim_domain"));
      if (!signer) return tl::unexpected(signer.error());
      settings.dkim = std::move(*signer);
    }
    return std::make_unique<SmtpConnector>(std::move(settings), static_cast<int>(pool));
  };
  return factory;
}

}  // namespace nurture::connectors
