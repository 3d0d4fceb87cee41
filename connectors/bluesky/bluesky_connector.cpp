#include "connectors/bluesky/bluesky_connector.hpp"

#include <memory>
#include <mutex>
#include <regex>

#include <fmt/format.h>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

using json = nlohmann::json;

std::vector<BlueskySpan> bluesky_spans(const std::string& text) {
  std::vector<BlueskySpan> spans;
  static const std::regex link(R"(https?://[^\s<>"]+[^\s<>".,;:!?)\]])");
  static const std::regex mention(R"((^|[\s(])@([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), link); it != std::sregex_iterator(); ++it) {
    const auto begin = static_cast<std::size_t>(it->position(0));
    spans.push_back({begin, begin + static_cast<std::size_t>(it->length(0)), it->str(0), false});
  }
  for (auto it = std::sregex_iterator(text.begin(), text.end(), mention); it != std::sregex_iterator(); ++it) {
    const auto begin = static_cast<std::size_t>(it->position(0) + it->length(1));  // at the '@'
    spans.push_back({begin, begin + 1 + static_cast<std::size_t>(it->length(2)), it->str(2), true});
  }
  return spans;
}

namespace {

struct Session {
  std::mutex mutex;
  std::string access_jwt;
  std::string did;
};

// One post being made: resolve mentions one by one, then create the record.
struct Posting : std::enable_shared_from_this<Posting> {
  std::string base_url;
  std::chrono::milliseconds timeout{};
  std::string jwt, did, rkey, text, created_at;
  std::vector<BlueskySpan> spans;
  json facets = json::array();
  std::size_t next = 0;
  std::shared_ptr<Session> session;
  sdk::Completion done;

  void step() {
    while (next < spans.size() && !spans[next].mention) {
      add_facet(spans[next], {{"$type", "app.bsky.richtext.facet#link"}, {"uri", spans[next].text}});
      ++next;
    }
    if (next < spans.size()) {
      http::Request request;
      request.method = "GET";
      request.url = base_url + "/xrpc/com.atproto.identity.resolveHandle?handle=" + spans[next].text;
      request.timeout = timeout;
      request.headers = {{"Authorization", "Bearer " + jwt}};
      http::Client::shared().perform(std::move(request), [self = shared_from_this()](http::Response response) {
        const json answer = json::parse(response.body, nullptr, false);
        // An unknown handle stays plain text: the post still goes out.
        if (response.status == 200 && answer.is_object() && answer.contains("did")) {
          self->add_facet(self->spans[self->next], {{"$type", "app.bsky.richtext.facet#mention"}, {"did", answer["did"]}});
        }
        ++self->next;
        self->step();
      });
      return;
    }
    create();
  }

  void add_facet(const BlueskySpan& span, json feature) {
    facets.push_back({{"index", {{"byteStart", span.begin}, {"byteEnd", span.end}}}, {"features", {std::move(feature)}}});
  }

  void create() {
    json record = {{"$type", "app.bsky.feed.post"}, {"text", text}, {"createdAt", created_at}};
    if (!facets.empty()) record["facets"] = facets;
    const json body = {{"repo", did}, {"collection", "app.bsky.feed.post"}, {"rkey", rkey}, {"record", record}};
    http::Request request;
    request.url = base_url + "/xrpc/com.atproto.repo.createRecord";
    request.timeout = timeout;
    request.headers = {{"Authorization", "Bearer " + jwt}, {"Content-Type", "application/json"}};
    request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    http::Client::shared().perform(std::move(request), [self = shared_from_this()](http::Response response) {
      const json answer = json::parse(response.body, nullptr, false);
      const std::string error = answer.is_object() ? answer.value("error", std::string()) : "";
      if (response.status == 400 && error == "ExpiredToken") {
        std::lock_guard lock(self->session->mutex);
        self->session->access_jwt.clear();  // the next send opens a new session
        self->done(sdk::Result::retry(std::chrono::seconds(0), "bluesky: the session expired"));
        return;
      }
      if (response.status == 400 && answer.is_object() && answer.value("message", std::string()).find("already exists") != std::string::npos) {
        self->done(sdk::Result::sent(self->rkey));  // made by an earlier attempt of this action
        return;
      }
      self->done(http::classify(response, answer.is_object() ? answer.value("uri", std::string()) : "", "bluesky"));
    });
  }
};

std::string now_rfc3339() {
  const auto now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, (now.time_since_epoch().count() % 1000 + 1000) % 1000);
}

class BlueskyConnector final : public sdk::Connector {
 public:
  BlueskyConnector(std::string base_url, std::string identifier, std::string password, std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), identifier_(std::move(identifier)), password_(std::move(password)),
        timeout_(timeout), session_(std::make_shared<Session>()) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    auto posting = std::make_shared<Posting>();
    posting->base_url = base_url_;
    posting->timeout = timeout_;
    posting->rkey = action.action_id;
    posting->text = action.post.text;
    posting->created_at = action.post.scheduled_at.empty() ? now_rfc3339() : action.post.scheduled_at;
    posting->spans = bluesky_spans(action.post.text);
    posting->session = session_;
    posting->done = std::move(done);
    {
      std::lock_guard lock(session_->mutex);
      if (!session_->access_jwt.empty()) {
        posting->jwt = session_->access_jwt;
        posting->did = session_->did;
      }
    }
    if (!posting->jwt.empty()) {
      posting->step();
      return;
    }
    http::Request request;
    request.url = base_url_ + "/xrpc/com.atproto.server.createSession";
    request.timeout = timeout_;
    request.headers = {{"Content-Type", "application/json"}};
    request.body = json{{"identifier", identifier_}, {"password", password_}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    http::Client::shared().perform(std::move(request), [posting](http::Response response) {
      const json answer = json::parse(response.body, nullptr, false);
      if (response.status != 200 || !answer.is_object() || !answer.contains("accessJwt")) {
        sdk::Result result = http::classify(response, "", "bluesky session");
        if (result.kind == sdk::Result::Kind::sent) result = sdk::Result::retry(std::chrono::seconds(30), "bluesky: no session in the answer");
        posting->done(result);
        return;
      }
      posting->jwt = answer.value("accessJwt", std::string());
      posting->did = answer.value("did", std::string());
      {
        std::lock_guard lock(posting->session->mutex);
        posting->session->access_jwt = posting->jwt;
        posting->session->did = posting->did;
      }
      posting->step();
    });
  }

 private:
  std::string base_url_, identifier_, password_;
  std::chrono::milliseconds timeout_;
  std::shared_ptr<Session> session_;
};

}  // namespace

sdk::ConnectorFactory bluesky_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "bluesky";
  factory.doc = "Posts to Bluesky (AT Protocol) with link and mention facets.";
  factory.max_post_length = 300;  // Bluesky counts graphemes; code points are at least as many
  factory.keys = {
      {"identifier", sdk::ConfigKey::Type::string, true, "", "the account's handle, e.g. acme.bsky.social"},
      {"app_password_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding an app password"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://bsky.social", "the account's PDS"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto password = http::required_secret(config, "app_password_env");
    if (!password) return tl::unexpected(password.error());
    return std::make_unique<BlueskyConnector>(config.get("base_url"), config.get("identifier"), std::move(*password),
                                              http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
