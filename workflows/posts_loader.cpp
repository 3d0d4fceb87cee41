// posts/*.yaml -> scheduled posts: `post` (id), `at` (an instant with its zone), `connectors`, `template`.


#include <fmt/format.h>

#include "text/rfc3339.hpp"
#include "workflows/campaign.hpp"
#include "workflows/yaml_reader.hpp"

namespace nurture::workflows {

namespace {

bool is_post_id(const std::string& text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

ScheduledPost parse_post(YamlContext& context, const YAML::Node& root) {
  ScheduledPost post;
  post.where = context.where(root);
  MapReader top(context, root, "a scheduled post", {"post", "at", "connectors", "template"});
  if (!top.ok()) return post;
  if (auto id = top.string("post", true)) {
    post.id = *id;
    if (!is_post_id(*id)) {
      context.error(top["post"], fmt::format("post id \"{}\" is not valid", *id),
                    "use lowercase letters, digits, `_` and `-`");
    }
  }
  if (auto at = top.string("at", true)) {
    // A post is published at one instant for everyone: a time without its zone is refused rather than guessed.
    if (auto instant = text::parse_rfc3339(*at)) {
      post.at = *instant;
    } else {
      context.error(top["at"], fmt::format("at \"{}\" is not a time with its zone", *at),
                    "write it as RFC 3339, e.g. \"2026-03-30T15:00:00Z\" or \"2026-03-30T17:00:00+02:00\"");
    }
  }
  if (!top.has("connectors")) {
    context.error(top["post"], "a post needs `connectors`", "e.g. `connectors: [mastodon, bluesky]`");
  } else if (!top["connectors"].IsSequence() || top["connectors"].size() == 0) {
    context.error(top["connectors"], "`connectors` is a list of connector names", "e.g. `connectors: [mastodon]`");
  } else {
    for (const auto& item : top["connectors"]) {
      auto name = context.scalar(item, "a connector name");
      if (!name) continue;
      if (std::find(post.connectors.begin(), post.connectors.end(), *name) != post.connectors.end()) {
        context.error(item, fmt::format("connector \"{}\" is listed twice", *name), "list each connector once");
        continue;
      }
      post.connectors.push_back(*name);
    }
  }
  post.template_name = top.string("template", true).value_or("");
  top.finish();
  return post;
}

}  // namespace

const ScheduledPost* Campaign::post(std::string_view id) const {
  for (const auto& p : posts) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

tl::expected<ScheduledPost, Diagnostics> parse_post_text(const std::string& text, const std::string& shown_name) {
  Diagnostics diagnostics;
  auto root = parse_yaml_text(text, shown_name, diagnostics);
  if (!root) return tl::unexpected(std::move(diagnostics));
  YamlContext context(shown_name, diagnostics);
  ScheduledPost post = parse_post(context, *root);
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return post;
}

tl::expected<ScheduledPost, Diagnostics> load_post(const std::filesystem::path& path, const std::string& shown_name) {
  Diagnostics diagnostics;
  auto root = load_yaml_file(path.string(), shown_name, diagnostics);
  if (!root) return tl::unexpected(std::move(diagnostics));
  YamlContext context(shown_name, diagnostics);
  ScheduledPost post = parse_post(context, *root);
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return post;
}

}  // namespace nurture::workflows
