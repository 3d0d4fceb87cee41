#include "engine/http/tracking_endpoints.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <fmt/format.h>

#include "engine/core/event.hpp"
#include "text/url.hpp"
#include "templates/mustache.hpp"

namespace nurture::engine {

namespace {

// The smallest transparent GIF (43 bytes).
const std::string transparent_gif(
    "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00"
    "\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b",
    43);

http::HttpAnswer page(int status, const std::string& title, const std::string& body_html) {
  http::HttpAnswer answer{status,
                          fmt::format("<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
                                      "content=\"width=device-width\"><title>{0}</title></head><body style=\"font-family:"
                                      "sans-serif;max-width:32em;margin:3em auto\"><h1>{0}</h1>{1}</body></html>\n",
                                      templates::escape_html(title), body_html),
                          "text/html; charset=utf-8"};
  answer.headers["Cache-Control"] = "no-store";
  return answer;
}

}  // namespace

void TrackingEndpoints::raise(const std::string& type, const templates::TrackingRef& ref, nlohmann::json props,
                              const std::string& id) {
  Event event;
  event.type = type;
  event.lead = ref.lead;
  event.at = clock_.now();
  event.id = id;
  props["action_id"] = ref.action_id;
  if (!ref.workflow.empty()) props["workflow"] = ref.workflow;
  if (!ref.step.empty()) props["step"] = ref.step;
  event.props = std::move(props);
  std::lock_guard lock(mutex_);
  store_.add_event(to_stream_fields(event));
}

std::optional<http::HttpAnswer> TrackingEndpoints::handle(const http::HttpCall& call) {
  // /t/c/{ref}/{sig}?u=, /t/o/{ref}/{sig}.gif, /u/{ref}/{sig}
  char kind = 0;
  std::size_t rest = 0;
  if (call.target.rfind("/t/c/", 0) == 0) kind = 'c', rest = 5;
  else if (call.target.rfind("/t/o/", 0) == 0) kind = 'o', rest = 5;
  else if (call.target.rfind("/u/", 0) == 0) kind = 'u', rest = 3;
  else return std::nullopt;
  const std::string path = call.target.substr(0, call.target.find('?'));
  const std::string query = call.target.size() > path.size() ? call.target.substr(path.size() + 1) : "";
  const auto slash = path.find('/', rest);
  if (slash == std::string::npos) return page(404, "Not found", "");
  const std::string ref_text = path.substr(rest, slash - rest);
  std::string signature = path.substr(slash + 1);
  if (kind == 'o' && signature.size() > 4 && signature.compare(signature.size() - 4, 4, ".gif") == 0) {
    signature.resize(signature.size() - 4);
  }
  std::string target;
  if (kind == 'c') {
    for (std::size_t start = 0; start < query.size();) {
      const auto end = std::min(query.find('&', start), query.size());
      if (query.compare(start, 2, "u=") == 0) target = templates::percent_decode(query.substr(start + 2, end - start - 2));
      start = end + 1;
    }
  }
  templates::TrackingRef ref;
  if (!templates::decode_ref(ref_text, ref) || !links_.verify(kind, ref_text, target, signature)) {
    spdlog::warn("tracking: refused a link that does not verify ({})", path);
    return page(400, "This link is not valid", "<p>It may have been changed on its way to you.</p>");
  }

  // HEAD is what link scanners and prefetchers send: it gets the same answer, but is no open or click.
  const bool counts = call.method != "HEAD";
  try {
    if (kind == 'c') {
      // Signed links are only made for http(s) URLs that parse; checked again here, so that no Location header
      // can carry anything else whatever a key once signed.
      auto url = text::parse_http_url(target);
      if (!url) {
        spdlog::warn("tracking: refused a click target that is not an http(s) URL ({})", url.error());
        return page(400, "This link is not valid", "");
      }
      const auto url_hash = XXH64(target.data(), target.size(), 0);
      http::HttpAnswer answer{302, "", "text/plain; charset=utf-8"};
      answer.headers["Location"] = url->url;
      answer.headers["Cache-Control"] = "no-store";
      try {
        if (counts) raise("email.clicked", ref, {{"url", target}}, fmt::format("c:{}:{:016x}", ref.action_id, url_hash));
      } catch (const StoreUnavailable& error) {
        spdlog::warn("tracking: a click on {} was not recorded: {}", ref.action_id, error.what());
      }
      return answer;
    }
    if (kind == 'o') {
      if (counts) raise("email.opened", ref, nlohmann::json::object(), "o:" + ref.action_id);
      http::HttpAnswer answer{200, transparent_gif, "image/gif"};
      answer.headers["Cache-Control"] = "no-store, max-age=0";
      return answer;
    }
    // kind == 'u'
    if (call.method == "POST") {
      raise("lead.unsubscribed", ref, {{"channel", "email"}}, "u:" + ref.action_id);
      return page(200, "You are unsubscribed", "<p>You will get no more of these emails.</p>");
    }
    return page(200, "Unsubscribe",
                fmt::format("<p>Stop getting these emails?</p><form method=\"post\" action=\"{}\"><button "
                            "type=\"submit\" name=\"List-Unsubscribe\" value=\"One-Click\">Unsubscribe</button></form>",
                            templates::escape_html(path)));
  } catch (const StoreUnavailable& error) {
    spdlog::warn("tracking: {} not recorded: {}", path, error.what());
    return page(503, "Please try again in a moment", "");
  }
}

}  // namespace nurture::engine
