#pragma once
// Mustache, spec v1 (interpolation, sections, inverted sections, partials, comments, set delimiters; lambdas are
// an optional module and campaign data, being JSON, cannot hold them), rendered straight from JSON data.
// Our own because the packaged kainjow 4.1 breaks the Mustache specification's standalone-line rules for comments, delimiter
// changes and partials (tests/templates/mustache_spec shows which), and those rules decide the exact text of
// every email we send.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <tl/expected.hpp>

namespace nurture::templates {

enum class Escaping { html, none };

class MustachePartials;

class MustacheTemplate {
 public:
  // Errors name the line: "line 3: section `offer` is never closed".
  static tl::expected<MustacheTemplate, std::string> compile(std::string_view source);

  tl::expected<std::string, std::string> render(const nlohmann::json& data, const MustachePartials* partials,
                                                Escaping escaping) const;
  // With `overlay` on top of `data` (names resolve in it first): a layout's {{{content}}} without copying data.
  tl::expected<std::string, std::string> render(const nlohmann::json& data, const nlohmann::json& overlay,
                                                const MustachePartials* partials, Escaping escaping) const;

  // Every name a tag of this template refers to (variables and sections), and the partials it includes.
  std::vector<std::string> names_used() const;
  std::vector<std::string> partials_used() const;

  struct Node;
  const std::vector<Node>* nodes() const { return nodes_.get(); }
  MustacheTemplate();
  ~MustacheTemplate();
  MustacheTemplate(MustacheTemplate&&) noexcept;
  MustacheTemplate& operator=(MustacheTemplate&&) noexcept;

 private:
  std::shared_ptr<const std::vector<Node>> nodes_;
};

// Partials by name, compiled on first use per indentation (a standalone partial indents every line it has).
// Not thread-safe: one owner renders at a time.
class MustachePartials {
 public:
  explicit MustachePartials(std::map<std::string, std::string> sources = {});
  ~MustachePartials();
  // Null when there is no such partial (it renders empty, as the Mustache specification says); the parser's message when it does not
  // compile.
  tl::expected<const MustacheTemplate*, std::string> find(const std::string& name, const std::string& indent) const;
  bool has(const std::string& name) const { return sources_.count(name) > 0; }
  // Compiles every partial `template_` reaches, at the indentation each is included with (or notes that it does
  // not compile). After that, rendering `template_` with these partials only reads them: renders on several
  // threads may share them.
  void compile_reached_by(const MustacheTemplate& template_) const;

 private:
  std::map<std::string, std::string> sources_;
  mutable std::map<std::pair<std::string, std::string>, MustacheTemplate> compiled_;
  mutable std::map<std::pair<std::string, std::string>, std::string> failed_;  // the parser's message
};

// Text made safe inside HTML elements and quoted attributes (& < > " ').
std::string escape_html(std::string_view text);

// One-off rendering (compile + render).
tl::expected<std::string, std::string> render_mustache(std::string_view source, const nlohmann::json& data,
                                                       const std::map<std::string, std::string>& partials = {},
                                                       Escaping escaping = Escaping::html);

}  // namespace nurture::templates
