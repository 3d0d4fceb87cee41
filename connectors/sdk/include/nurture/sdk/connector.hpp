#pragma once
// The connector SDK: what a channel connector receives (Action), what it answers (Result),
// and how it is declared (ConnectorFactory with its config keys). This header is all a connector includes.
//
// The engine owns retries, rate limits, suppression and metrics; a connector only delivers and classifies.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nurture/error.hpp"
#include "nurture/sdk/feedback.hpp"

namespace nurture::sdk {

enum class Channel { email, social, webhook };

struct EmailContent {
  std::string from;      // `Name <address>` as configured
  std::string to;        // recipient address
  std::string reply_to;  // optional
  std::string subject;   // decoded (UTF-8)
  std::string text;
  std::string html;
  // Headers an API provider must add as given (List-Unsubscribe, List-Unsubscribe-Post, Message-ID); they are in
  // `mime` already.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string mime;      // the complete RFC 5322 message (CRLF), headers included
};

struct PostContent {
  std::string text;        // also the rendered template of a webhook/handoff step that names one (chat alerts)
  std::string visibility;  // connector-specific: public, unlisted, private, direct...
  std::vector<std::string> media;
  std::string scheduled_at;  // RFC 3339, empty: now
};

struct Action {
  std::string action_id;  // stable and unique: pass it on as the provider's idempotency key
  std::string lead_id;
  Channel channel = Channel::email;
  std::string workflow;
  std::string step;
  EmailContent email;     // channel == email
  PostContent post;       // channel == social
  std::string json_body;  // channel == webhook
  std::string lead_attrs;  // channel social/webhook: the lead's attributes as a JSON object (handles, ids, email)
  // When the engine stops waiting for this send's answer (wall clock). A connector that queues sends must not
  // start one past it: the engine has given up and will retry it, so starting it could deliver it twice.
  std::chrono::system_clock::time_point deadline;

  // Whether the engine has given up on this send (an action without a deadline never expires).
  bool past_deadline(std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const {
    return deadline != std::chrono::system_clock::time_point{} && now > deadline;
  }
};

// Exactly one per action.
struct Result {
  enum class Kind { sent, retry, failed, suppressed };
  Kind kind = Kind::failed;
  std::string provider_id;              // sent
  std::chrono::milliseconds after{0};   // retry: wait at least this long (honours Retry-After)
  std::string reason;                   // retry, failed, suppressed

  static Result sent(std::string provider_id) { return {Kind::sent, std::move(provider_id), {}, {}}; }
  static Result retry(std::chrono::milliseconds after, std::string reason) {
    return {Kind::retry, {}, after, std::move(reason)};
  }
  static Result failed(std::string reason) { return {Kind::failed, {}, {}, std::move(reason)}; }
  static Result suppressed(std::string reason) { return {Kind::suppressed, {}, {}, std::move(reason)}; }
};

const char* to_string(Result::Kind kind);
const char* to_string(Channel channel);

using Completion = std::function<void(Result)>;

class Connector {
 public:
  virtual ~Connector() = default;
  // Must not block the caller for long unless max_in_flight() is 1 (the engine then gives it a thread of its
  // own). With several workers (nurture.yaml `workers`) it may be called from several threads at once, except
  // when max_in_flight() is 1. `done` is called exactly once, from any thread.
  virtual void send(const Action& action, Completion done) = 0;
  // 0: unlimited (asynchronous connector); 1: one send at a time.
  virtual int max_in_flight() const { return 0; }
  // Whether it reads `email.mime` (SMTP, files); API connectors use the parts, and the engine then skips composing.
  virtual bool needs_mime() const { return true; }
  // Whether bounce reports about its sends name only the message (its Message-ID) and not the lead, as a mail
  // server's DSN does: the engine then remembers which lead each sent message was for (7 days).
  virtual bool feedback_names_only_the_message() const { return false; }
};

struct ConfigKey {
  enum class Type { string, integer, path, url, secret_env };
  std::string name;
  Type type = Type::string;
  bool required = false;
  std::string default_value;
  std::string doc;
};

// One configured instance: `connectors: { NAME: { type: T, KEY: VALUE, ... } }`.
struct ConnectorConfig {
  std::string name;
  std::map<std::string, std::string> values;  // declared keys, defaults filled in
  std::filesystem::path base_dir;             // relative paths resolve against it

  std::string get(const std::string& key) const;
  std::filesystem::path path(const std::string& key) const;
  long long integer(const std::string& key) const;
};

// A problem with one key of an instance's config (the engine places it at that key in nurture.yaml).
struct ConfigProblem : Error {
  std::string key;  // empty: the connector as a whole

  ConfigProblem(std::string key, std::string message, std::string hint = {})
      : Error{std::move(message), {}, std::move(hint)}, key(std::move(key)) {}
};
using ConfigProblems = std::vector<ConfigProblem>;

class Connector;
// What create() answers: the connector, or why it cannot be made, e.g.
//   if (token.empty()) return nurture::fail("environment variable X is not set", {}, "export X=...");
using Created = Expected<std::unique_ptr<Connector>>;

struct ConnectorFactory {
  std::string type;
  std::string doc;
  std::vector<ConfigKey> keys;
  // Called with a config whose keys were checked against `keys`.
  std::function<Created(const ConnectorConfig&)> create;
  // Optional: a reader of the provider's bounce and complaint webhook for an instance (sdk/feedback.hpp); null
  // when the instance has none configured (no secret set), and the engine then serves no endpoint for it.
  std::function<std::unique_ptr<FeedbackReader>(const ConnectorConfig&)> feedback;
  // The most characters (Unicode code points) one post may have on this network; 0: no limit. `nurture validate`
  // renders each scheduled post and refuses one that is longer.
  std::size_t max_post_length = 0;
};

class Registry {
 public:
  void add(ConnectorFactory factory);
  const ConnectorFactory* find(const std::string& type) const;
  std::vector<std::string> types() const;

  // Checks `values` against the factory's declared keys (unknown, missing, badly typed), fills defaults, creates;
  // or says every problem found.
  tl::expected<std::unique_ptr<Connector>, ConfigProblems> create(const std::string& type, const std::string& name,
                                                                  const std::map<std::string, std::string>& values,
                                                                  const std::filesystem::path& base_dir) const;
  // The same, with the instance's feedback reader when its type offers one and it is configured.
  struct Instance {
    std::unique_ptr<Connector> connector;
    std::unique_ptr<FeedbackReader> feedback;
  };
  tl::expected<Instance, ConfigProblems> instantiate(const std::string& type, const std::string& name,
                                                     const std::map<std::string, std::string>& values,
                                                     const std::filesystem::path& base_dir) const;

 private:
  std::map<std::string, ConnectorFactory> factories_;
};

}  // namespace nurture::sdk
