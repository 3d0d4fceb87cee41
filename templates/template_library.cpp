// Rendering with templates/mustache. Templates are read once and cached by name; partials are resolved from
// templates/partials/ on demand. HTML parts escape variables (Mustache's default); subject and text parts do not,
// since they are not HTML.

#include "templates/template_library.hpp"

#include <fstream>
#include <mutex>
#include <optional>
#include <cstdio>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "templates/html_to_text.hpp"
#include "templates/mustache.hpp"
#include "templates/tracking.hpp"
#include "text/utf8.hpp"

namespace nurture::templates {

namespace fs = std::filesystem;

// Everything read from disk is read once: a running engine renders the same few templates millions of times.
struct TemplateLibrary::Cache {
  std::mutex mutex;
  std::map<std::string, EmailTemplate> emails;
  std::optional<std::map<std::string, std::string>> partial_sources;  // read at first use
  std::map<std::string, std::shared_ptr<const CompiledEmail>> compiled_emails;  // by name
};

TemplateLibrary::TemplateLibrary(fs::path templates_dir)
    : dir_(std::move(templates_dir)), cache_(std::make_unique<Cache>()) {}
TemplateLibrary::~TemplateLibrary() = default;
TemplateLibrary::TemplateLibrary(TemplateLibrary&&) noexcept = default;

FrontMatterSplit split_front_matter(const std::string& text) {
  FrontMatterSplit split;
  if (text.rfind("---\n", 0) != 0 && text.rfind("---\r\n", 0) != 0) {
    split.body = text;
    return split;
  }
  std::size_t start = text.find('\n') + 1;
  std::size_t pos = start;
  int line = 2;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    std::string current = text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos);
    if (!current.empty() && current.back() == '\r') current.pop_back();
    if (current == "---") {
      split.yaml = text.substr(start, pos - start);
      split.body = eol == std::string::npos ? "" : text.substr(eol + 1);
      split.body_line = line + 1;
      return split;
    }
    if (eol == std::string::npos) break;
    pos = eol + 1;
    ++line;
  }
  split.body = text;  // an opening `---` without a closing one: treat it all as body
  return split;
}

tl::expected<std::string, Error> TemplateLibrary::read_file(const fs::path& relative) const {
  // Only regular files (a link to /dev/zero or a FIFO would never end), and within a size a template can have.
  const std::string shown = "templates/" + relative.string();
  std::error_code ec;
  const fs::path path = dir_ / relative;
  if (!fs::is_regular_file(path, ec)) {
    return tl::unexpected(Error{fs::exists(path, ec) ? "not a regular file" : "cannot read the file", {shown}});
  }
  const auto size = fs::file_size(path, ec);
  if (ec || size > max_template_bytes) {
    return tl::unexpected(Error{fmt::format("larger than {} bytes", max_template_bytes), {shown}});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return tl::unexpected(Error{"cannot read the file", {shown}});
  std::string content(static_cast<std::size_t>(size), '\0');
  in.read(content.data(), static_cast<std::streamsize>(size));
  content.resize(static_cast<std::size_t>(in.gcount()));
  if (!text::is_valid_utf8(content)) return tl::unexpected(Error{"not UTF-8 text", {shown}});
  return content;
}

tl::expected<EmailTemplate, Error> TemplateLibrary::load_email(const std::string& name) const {
  {
    std::lock_guard lock(cache_->mutex);
    if (auto it = cache_->emails.find(name); it != cache_->emails.end()) return it->second;
  }
  const std::string shown = "templates/" + name + ".mustache";
  auto text = read_file(name + ".mustache");
  if (!text) return tl::unexpected(text.error());

  EmailTemplate email;
  email.name = name;
  FrontMatterSplit split = split_front_matter(*text);
  email.html = split.body;
  email.body_line = split.body_line;
  try {
    YAML::Node front = YAML::Load(split.yaml);
    if (front.IsMap()) {
      for (const auto& entry : front) {
        const std::string key = entry.first.as<std::string>();
        const std::string value = entry.second.IsScalar() ? entry.second.Scalar() : "";
        if (key == "subject") email.subject = value;
        else if (key == "preheader") email.preheader = value;
        else if (key == "layout") email.layout = value;
        else
          return tl::unexpected(Error{
              fmt::format("unknown front matter key \"{}\" (known: subject, preheader, layout)", key),
              {shown, entry.first.Mark().line + 2, entry.first.Mark().column + 1}});
      }
    } else if (!front.IsNull()) {
      return tl::unexpected(Error{"front matter must be a map of keys", {shown}});
    }
  } catch (const YAML::Exception& e) {
    return tl::unexpected(Error{"front matter: " + e.msg, {shown, e.mark.line + 2, e.mark.column + 1}});
  }
  if (email.subject.empty()) {
    return tl::unexpected(Error{"an email template needs a `subject` in its front matter", {shown}});
  }
  if (fs::exists(dir_ / (name + ".txt.mustache"))) {
    auto plain = read_file(name + ".txt.mustache");
    if (!plain) return tl::unexpected(plain.error());
    email.text = *plain;
  }
  std::lock_guard lock(cache_->mutex);
  cache_->emails.emplace(name, email);
  return email;
}


tl::expected<RenderedPost, Error> TemplateLibrary::render_post(const std::string& name,
                                                                       const nlohmann::json& variables) const {
  const std::string shown = "templates/" + name + ".mustache";
  auto text = read_file(name + ".mustache");
  if (!text) return tl::unexpected(text.error());
  FrontMatterSplit split = split_front_matter(*text);
  RenderedPost post;
  try {
    YAML::Node front = YAML::Load(split.yaml);
    if (front.IsMap()) {
      for (const auto& entry : front) {
        const std::string key = entry.first.as<std::string>();
        if (key == "visibility") post.visibility = entry.second.as<std::string>("");
        else if (key == "scheduled_at") post.scheduled_at = entry.second.as<std::string>("");
        else if (key != "media")
          return tl::unexpected(Error{
              fmt::format("unknown front matter key \"{}\" (known: visibility, scheduled_at, media)", key), {shown}});
      }
    }
  } catch (const YAML::Exception& e) {
    return tl::unexpected(Error{"front matter: " + e.msg, {shown}});
  }
  auto text_part = render_mustache(split.body, variables, {}, Escaping::none);
  if (!text_part) return tl::unexpected(Error{text_part.error(), {shown}});
  post.text = std::move(*text_part);
  return post;
}

const std::map<std::string, std::string>& TemplateLibrary::partial_sources_locked() const {
  if (!cache_->partial_sources) {
    std::map<std::string, std::string> sources;
    std::error_code ec;
    if (fs::is_directory(dir_ / "partials", ec)) {
      for (const auto& entry : fs::directory_iterator(dir_ / "partials", ec)) {
        const std::string file = entry.path().filename().string();
        const std::string suffix = ".mustache";
        if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
          continue;
        auto text = read_file("partials/" + file);
        if (text) sources[file.substr(0, file.size() - suffix.size())] = *text;
      }
    }
    cache_->partial_sources.emplace(std::move(sources));
  }
  return *cache_->partial_sources;
}


namespace {

// "line 3: msg" from the parser, placed in the file: `templates/x.mustache:5:1` + msg.
Error syntax_error(const std::string& file, int first_line, const std::string& parser_message) {
  int line = 1;
  std::string message = parser_message;
  if (std::sscanf(parser_message.c_str(), "line %d:", &line) == 1) message = parser_message.substr(parser_message.find(':') + 2);
  return Error{"Mustache: " + message, {file, first_line + line - 1, 1},
               "close every {{#section}} with {{/section}} and every tag with }}"};
}

const std::string preheader_style =
    "display:none;max-height:0;overflow:hidden;mso-hide:all;font-size:1px;line-height:1px;color:transparent";

// The preheader goes first in the body: inboxes show the first text of a message next to the subject.
void insert_preheader(std::string& html, const std::string& preheader) {
  if (preheader.empty()) return;
  const std::string block = "<div style=\"" + preheader_style + "\">" + escape_html(preheader) + "</div>\n";
  std::size_t at = 0;
  const std::size_t body = html.find("<body");
  if (body != std::string::npos) {
    const std::size_t close = html.find('>', body);
    if (close != std::string::npos) at = close + 1;
    if (at < html.size() && html[at] == '\n') ++at;
  }
  html.insert(at, block);
}

}  // namespace

std::vector<Error> TemplateLibrary::check_email(const std::string& name) const {
  auto email = load_email(name);
  if (!email) return {email.error()};
  std::vector<Error> problems;
  const std::string file = "templates/" + name + ".mustache";
  std::lock_guard lock(cache_->mutex);
  const auto& partial_sources = partial_sources_locked();

  std::set<std::string> names;
  std::set<std::string> partials_seen;
  // Gathers the names a source uses, following its partials; reports syntax errors where they are.
  std::function<void(const std::string&, const std::string&, int, bool)> visit =
      [&](const std::string& source, const std::string& where, int first_line, bool follow_partials) {
        auto compiled = MustacheTemplate::compile(source);
        if (!compiled) {
          problems.push_back(syntax_error(where, first_line, compiled.error()));
          return;
        }
        for (auto& used : compiled->names_used()) names.insert(used);
        if (!follow_partials) return;
        for (auto& partial : compiled->partials_used()) {
          auto it = partial_sources.find(partial);
          if (it == partial_sources.end()) {
            problems.push_back(Error{fmt::format("partial `{}` does not exist", partial), {where},
                                     fmt::format("create templates/partials/{}.mustache", partial)});
          } else if (partials_seen.insert(partial).second) {
            visit(it->second, "templates/partials/" + partial + ".mustache", 1, true);
          }
        }
      };
  visit(email->subject, file + " (subject)", 1, false);
  visit(email->preheader, file + " (preheader)", 1, false);
  visit(email->html, file, email->body_line, true);
  if (!email->text.empty()) visit(email->text, "templates/" + name + ".txt.mustache", 1, true);
  std::string wrapper = file;
  if (!email->layout.empty()) {
    wrapper = "templates/layouts/" + email->layout + ".mustache";
    auto layout = read_file("layouts/" + email->layout + ".mustache");
    if (!layout) {
      problems.push_back(Error{fmt::format("layout \"{}\" does not exist", email->layout), {file},
                                fmt::format("create {} with {{{{{{content}}}}}} where the body goes", wrapper)});
      return problems;
    }
    visit(*layout, wrapper, 1, true);
    if (layout->find("content") == std::string::npos) {
      problems.push_back(Error{"the layout never places the body", {wrapper}, "put {{{content}}} where the body goes"});
    }
  }
  // CAN-SPAM and RFC 8058 practice: every marketing email says who sends it and how to stop getting them.
  if (!names.count("unsubscribe_url")) {
    problems.push_back(Error{"a marketing email must contain {{unsubscribe_url}}", {wrapper},
                              "add <a href=\"{{unsubscribe_url}}\">Unsubscribe</a> to the footer"});
  }
  if (!names.count("sender.postal_address")) {
    problems.push_back(Error{"a marketing email must contain {{sender.postal_address}}", {wrapper},
                              "add {{sender.postal_address}} to the footer (the sender's postal address)"});
  }
  return problems;
}

// An email template ready to render: its parts compiled, the partials they reach compiled (so rendering never
// writes to them and needs no lock), the hosts its own links name. Immutable once built; shared by every render.
struct TemplateLibrary::CompiledEmail {
  explicit CompiledEmail(std::map<std::string, std::string> partial_sources) : partials(std::move(partial_sources)) {}
  struct Part {
    MustacheTemplate compiled;
    std::string shown;  // where an error is, as people see it
    bool present = false;
  };
  Part subject, preheader, html, layout, text;
  MustachePartials partials;
  std::shared_ptr<const std::set<std::string>> link_hosts;
};

tl::expected<std::shared_ptr<const TemplateLibrary::CompiledEmail>, Error> TemplateLibrary::compiled_email(
    const std::string& name) const {
  {
    std::lock_guard lock(cache_->mutex);
    if (auto it = cache_->compiled_emails.find(name); it != cache_->compiled_emails.end()) return it->second;
  }
  auto email = load_email(name);  // takes the lock itself
  if (!email) return tl::unexpected(email.error());
  const std::string shown = "templates/" + name + ".mustache";
  std::lock_guard lock(cache_->mutex);
  auto compiled = std::make_shared<CompiledEmail>(partial_sources_locked());
  auto part = [&](CompiledEmail::Part& part, const std::string& source,
                  std::string where) -> tl::expected<void, Error> {
    auto template_ = MustacheTemplate::compile(source);
    if (!template_) return tl::unexpected(Error{template_.error(), {where}});
    part.compiled = std::move(*template_);
    part.shown = std::move(where);
    part.present = true;
    compiled->partials.compile_reached_by(part.compiled);
    return {};
  };
  auto hosts = std::make_shared<std::set<std::string>>();
  if (auto done = part(compiled->subject, email->subject, shown + " (subject)"); !done) {
    return tl::unexpected(done.error());
  }
  if (!email->preheader.empty()) {
    if (auto done = part(compiled->preheader, email->preheader, shown + " (preheader)"); !done) {
      return tl::unexpected(done.error());
    }
  }
  if (auto done = part(compiled->html, email->html, shown); !done) return tl::unexpected(done.error());
  collect_link_hosts(email->html, *hosts);
  if (!email->layout.empty()) {
    const std::string layout_file = "layouts/" + email->layout + ".mustache";
    auto layout = read_file(layout_file);
    if (!layout) return tl::unexpected(layout.error());
    if (auto done = part(compiled->layout, *layout, "templates/" + layout_file); !done) {
      return tl::unexpected(done.error());
    }
    collect_link_hosts(*layout, *hosts);
  }
  if (!email->text.empty()) {
    if (auto done = part(compiled->text, email->text, "templates/" + name + ".txt.mustache"); !done) {
      return tl::unexpected(done.error());
    }
  }
  for (const auto& [partial, source] : partial_sources_locked()) collect_link_hosts(source, *hosts);
  compiled->link_hosts = std::move(hosts);
  return cache_->compiled_emails.emplace(name, std::move(compiled)).first->second;
}

tl::expected<RenderedEmail, Error> TemplateLibrary::render_email(const std::string& name,
                                                                         const nlohmann::json& variables) const {
  auto email = compiled_email(name);
  if (!email) return tl::unexpected(email.error());
  const CompiledEmail& compiled = **email;
  static const nlohmann::json no_overlay = nlohmann::json::object();
  auto render = [&](const CompiledEmail::Part& part, bool html, const nlohmann::json& overlay,
                    std::string& out) -> tl::expected<void, Error> {
    const Escaping escaping = html ? Escaping::html : Escaping::none;
    auto rendered = part.compiled.render(variables, overlay, &compiled.partials, escaping);
    if (!rendered) return tl::unexpected(Error{rendered.error(), {part.shown}});
    out = std::move(*rendered);
    return {};
  };

  RenderedEmail rendered;
  if (auto done = render(compiled.subject, false, no_overlay, rendered.subject); !done) {
    return tl::unexpected(done.error());
  }
  if (compiled.preheader.present) {
    if (auto done = render(compiled.preheader, false, no_overlay, rendered.preheader); !done) {
      return tl::unexpected(done.error());
    }
  }
  if (auto done = render(compiled.html, true, no_overlay, rendered.html); !done) return tl::unexpected(done.error());
  if (compiled.layout.present) {
    nlohmann::json content = nlohmann::json::object();
    content["content"] = std::move(rendered.html);
    if (auto done = render(compiled.layout, true, content, rendered.html); !done) {
      return tl::unexpected(done.error());
    }
  }
  if (compiled.text.present) {
    if (auto done = render(compiled.text, false, no_overlay, rendered.text); !done) {
      return tl::unexpected(done.error());
    }
  } else {
    rendered.text = html_to_text(rendered.html);
  }
  insert_preheader(rendered.html, rendered.preheader);  // after the text part: the preview line is html only
  rendered.link_hosts = compiled.link_hosts;
  return rendered;
}


}  // namespace nurture::templates
