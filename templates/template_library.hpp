#pragma once
// The templates of a campaign: `templates/NAME.mustache` with YAML front matter, layouts in
// `templates/layouts/`, partials in `templates/partials/`, optional `NAME.txt.mustache` for the text part.
// A render error is a value, returned per call: one lead's bad data never stops the others.

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include <nlohmann/json_fwd.hpp>
#include <tl/expected.hpp>

#include "nurture/error.hpp"

namespace nurture::templates {

class MustachePartials;

// A template's problems name the file as people see it (templates/welcome.mustache) and the line when known.
using nurture::Error;

struct EmailTemplate {
  std::string name;
  std::string subject;    // Mustache source
  std::string preheader;  // Mustache source
  std::string layout;     // empty: none
  std::string html;       // Mustache source of the body
  int body_line = 1;      // line of the body's first line in the file (after the front matter)
  std::string text;       // Mustache source of the text part; empty: derived from the HTML
};

struct PostTemplate {
  std::string name;
  std::string visibility;  // front matter, optional
  std::string text;        // Mustache source; plain text
};

struct RenderedPost {
  std::string text;
  std::string visibility;
  std::string scheduled_at;  // RFC 3339, for connectors that schedule posts (mastodon); empty: now
};

struct RenderedEmail {
  std::string subject;
  std::string preheader;  // also at the top of the html, hidden: the inbox preview line
  std::string html;
  std::string text;
  // The hosts that the template's own links (body, layout, partials) name literally: a link to another host was
  // made from lead data, and is not tracked unless the configuration allows its host.
  std::shared_ptr<const std::set<std::string>> link_hosts;
};

// Templates are files of at most this size.
inline constexpr std::size_t max_template_bytes = 1 << 20;

class TemplateLibrary {
 public:
  explicit TemplateLibrary(std::filesystem::path templates_dir);
  ~TemplateLibrary();
  TemplateLibrary(TemplateLibrary&&) noexcept;

  tl::expected<EmailTemplate, Error> load_email(const std::string& name) const;

  // What `nurture validate` says of an email template: front matter, Mustache syntax of every part, and the law —
  // a marketing email must carry {{unsubscribe_url}} and {{sender.postal_address}} (body, layout or partials).
  std::vector<Error> check_email(const std::string& name) const;

  // `variables` is the Mustache context: {"lead": {...}, "sender": {...}, "unsubscribe_url": ..., ...}.
  tl::expected<RenderedEmail, Error> render_email(const std::string& name,
                                                          const nlohmann::json& variables) const;

  // A post (social) template: plain text, front matter `visibility` optional, no escaping.
  tl::expected<RenderedPost, Error> render_post(const std::string& name,
                                                        const nlohmann::json& variables) const;

  const std::filesystem::path& dir() const { return dir_; }

 private:
  tl::expected<std::string, Error> read_file(const std::filesystem::path& relative) const;
  struct CompiledEmail;
  tl::expected<std::shared_ptr<const CompiledEmail>, Error> compiled_email(const std::string& name) const;
  const std::map<std::string, std::string>& partial_sources_locked() const;
  std::filesystem::path dir_;
  struct Cache;
  std::unique_ptr<Cache> cache_;
};

// Front matter split: `---\nYAML\n---\nbody`. No front matter: empty YAML, the whole text as body.
struct FrontMatterSplit {
  std::string yaml;
  std::string body;
  int body_line = 1;  // 1-based line of the body's first line in the file
};
FrontMatterSplit split_front_matter(const std::string& text);

}  // namespace nurture::templates
