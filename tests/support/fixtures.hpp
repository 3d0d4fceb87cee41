#pragma once
// Shared fixtures: a temporary directory, a real redis-server, a real SMTP server that records what it gets,
// and helpers to write campaigns and read mail.

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/store/redis/embedded_redis.hpp"
#include "engine/store/redis/redis_connection.hpp"
#include "tests/support/process.hpp"
#include "workflows/campaign.hpp"

namespace nurture::testing {

class TempDir {
 public:
  TempDir();  // short path under /tmp: unix socket paths must stay short
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& content);

// A campaign directory for tests: nurture.yaml, workflows/NAME.yaml and templates/NAME.mustache.
struct CampaignFiles {
  std::string config;
  std::map<std::string, std::string> workflows;
  std::map<std::string, std::string> templates;
};
void write_campaign(const std::filesystem::path& dir, const CampaignFiles& files);
// Loads it; a campaign with errors fails the test, showing them.
workflows::Campaign load_campaign_or_fail(const std::filesystem::path& dir);
// nurture.yaml with a sender and one `file` connector `outbox` as the default for email.
extern const char* const minimal_config;
// `welcome`: email `hello` (template welcome), wait WAIT, email `tips` (template tips).
std::string two_email_drip(const std::string& wait = "2d");
// The value of `field` in a stream entry as XRANGE returns it ([id, [f, v, ...]]); "" when absent.
std::string stream_field(const engine::redis::RedisReply& entry, const std::string& field);
// An email template with the compliance footer, subject `SUBJECT`, body `BODY` (Mustache both).
std::string email_template(const std::string& subject, const std::string& body);

// A private redis-server on a unix socket (AOF on, as the daemon's), stopped at the end of the test.
class RedisServer {
 public:
  explicit RedisServer(const std::filesystem::path& dir);
  const std::string& url() const { return server_->url(); }
  std::unique_ptr<engine::redis::RedisConnection> connect() const;
  void kill_hard() { server_->kill_hard(); }

 private:
  std::unique_ptr<engine::redis::EmbeddedRedis> server_;
};

struct ReceivedMail {
  std::string raw;        // the DATA as received, CRLF line ends
  std::string mail_from;  // envelope
  std::vector<std::string> rcpt_to;
  int client_port = 0;  // one per connection: how many connections the client used
  bool tls = false;     // the session went through STARTTLS
  std::string auth;     // the AUTH login, "" when none
};

struct SmtpSinkOptions {
  std::filesystem::path tls_cert, tls_key;  // offer STARTTLS with this certificate
  bool require_tls = false;
  std::string auth;  // "user:password": AUTH required
};

// A real SMTP server (python3-aiosmtpd, tests/support/smtp_recorder.py) on 127.0.0.1. Recipients named
// `nosuchuser@…` are refused with 550 5.1.1, `busy@…` with 451 4.3.0.
class SmtpSink {
 public:
  explicit SmtpSink(const std::filesystem::path& dir, const SmtpSinkOptions& options = {});
  int port() const { return port_; }
  std::string url() const { return "smtp://127.0.0.1:" + std::to_string(port_); }
  std::vector<ReceivedMail> messages() const;
  // Waits until at least `count` messages arrived (real time, for the daemon tests); returns what is there.
  std::vector<ReceivedMail> wait_for(std::size_t count, std::chrono::milliseconds timeout) const;

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

int free_tcp_port();

// A local HTTP server that records requests and answers from a script (tests/support/http_recorder.py).
struct RecordedRequest {
  std::string method, path, body;
  std::map<std::string, std::string> headers;  // names as sent
  std::string header(const std::string& name) const;  // case-insensitive
};
struct ScriptedAnswer {
  int status = 200;
  std::string body = "{}";
  std::map<std::string, std::string> headers;
  int delay_ms = 0;
};
class HttpRecorder {
 public:
  explicit HttpRecorder(const std::filesystem::path& dir);
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  // Answers from now on: the Nth request from now gets answers[N], the last one repeating.
  void script(const std::vector<ScriptedAnswer>& answers) const;
  std::vector<RecordedRequest> requests() const;

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// A self-signed certificate for 127.0.0.1/localhost (openssl req), written to dir/cert.pem and dir/key.pem.
void make_test_certificate(const std::filesystem::path& dir);

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};
// A plain HTTP/1.1 GET to 127.0.0.1:port.
HttpReply http_get(int port, const std::string& path);
HttpReply http_request(int port, const std::string& method, const std::string& path, const std::string& body = {},
                       const std::map<std::string, std::string>& headers = {});

// Mail helpers for assertions.
std::string header(const std::string& raw, const std::string& name);  // unfolded value, "" when absent
std::string decode_quoted_printable(const std::string& text);
// The decoded body of the first part with this content type (text/plain, text/html).
std::string mime_part(const std::string& raw, const std::string& content_type);

}  // namespace nurture::testing
