// Rendering with templates/mustache. Templates are read once and cached by name; partials are resolved from
// templates/partials/ on demand. HTML parts escape variables (Mustache's default); subject and text parts do not,
// since they are not HTML.

#include "templates/template_library.hpp"

#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "templates/html_to_text.hpp"
#include "templates/mustache.hpp"

namespace nurture::templates {

namespace fs = std::filesystem;

// Everything read from disk is read once: a running engine renders the same few templates millions of times.
struct TemplateLibrary::Cache {
  std::mutex mutex;
  std::map<std::string, EmailTemplate> emails;
  std::map<std::string, std::string> layouts;   // by file name under layouts/
  std::optional<MustachePartials> partials;  // read at first use
  // Compiled templates by source: compiling is most of the cost of a small template.
  std::map<std::string, MustacheTemplate> compiled;
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

tl::expected<std::string, TemplateError> TemplateLibrary::read_file(const fs::path& relative) const {
  std::ifstream in(dir_ / relative);
  if (!in) return tl::unexpected(TemplateError{"templates/" + relative.string(), "cannot read the file"});
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

tl::expected<EmailTemplate, TemplateError> TemplateLibrary::load_email(const std::string& name) const {
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
          return tl::unexpected(TemplateError{
              fmt::format("{}:{}:{}", shown, entry.first.Mark().line + 2, entry.first.Mark().column + 1),
              fmt::format("unknown front matter key \"{}\" (known: subject, preheader, layout)", key)});
      }
    } else if (!front.IsNull()) {
      return tl::unexpected(TemplateError{shown, "front matter must be a map of keys"});
    }
  } catch (const YAML::Exception& e) {
    return tl::unexpected(TemplateError{
        fmt::format("{}:{}:{}", shown, e.mark.line + 2, e.mark.column + 1), "front matter: " + e.msg});
  }
  if (email.subject.empty()) {
    return tl::unexpected(TemplateError{shown, "an email template needs a `subject` in its front matter"});
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


tl::expected<RenderedPost, TemplateError> TemplateLibrary::render_post(const std::string& name,
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
        else if (key != "media")
          return tl::unexpected(TemplateError{shown, fmt::format("unknown front matter key \"{}\" (known: visibility, media)", key)});
      }
    }
  } catch (const YAML::Exception& e) {
    return tl::unexpected(TemplateError{shown, "front matter: " + e.msg});
  }
  auto text_part = render_mustache(split.body, variables, {}, Escaping::none);
  if (!text_part) return tl::unexpected(TemplateError{shown, text_part.error()});
  post.text = std::move(*text_part);
  return post;
}

tl::expected<RenderedEmail, TemplateError> TemplateLibrary::render_email(const std::string& name,
                                                                         const nlohmann::json& variables) const {
  auto email = load_email(name);  // before taking the lock: it takes it itself
  if (!email) return tl::unexpected(email.error());
  const std::string shown = "templates/" + name + ".mustache";

  std::lock_guard lock(cache_->mutex);
  // Partials are looked up by name when a template uses them; an unknown partial renders empty (Mustache spec).
  if (!cache_->partials) {
    std::map<std::string, std::string> sources;
    if (fs::is_directory(dir_ / "partials")) {
      for (const auto& entry : fs::directory_iterator(dir_ / "partials")) {
        const std::string file = entry.path().filename().string();
        const std::string suffix = ".mustache";
        if (file.size() <= suffix.size() || file.compare(file.size() - suffix.size(), suffix.size(), suffix) != 0)
          continue;
        auto text = read_file("partials/" + file);
        if (text) sources[file.substr(0, file.size() - suffix.size())] = *text;
      }
    }
    cache_->partials.emplace(std::move(sources));
  }

  auto render = [&](const std::string& source, const std::string& what, bool html,
                    const nlohmann::json& overlay) -> tl::expected<std::string, TemplateError> {
    auto slot = cache_->compiled.find(source);
    if (slot == cache_->compiled.end()) {
      auto compiled = MustacheTemplate::compile(source);
      if (!compiled) return tl::unexpected(TemplateError{what, compiled.error()});
      slot = cache_->compiled.emplace(source, std::move(*compiled)).first;
    }
    auto out = slot->second.render(variables, overlay, &*cache_->partials, html ? Escaping::html : Escaping::none);
    if (!out) return tl::unexpected(TemplateError{what, out.error()});
    return std::move(*out);
  };

  static const nlohmann::json no_overlay = nlohmann::json::object();
  RenderedEmail rendered;
  auto subject = render(email->subject, shown + " (subject)", false, no_overlay);
  if (!subject) return tl::unexpected(subject.error());
  rendered.subject = *subject;

  auto body = render(email->html, shown, true, no_overlay);
  if (!body) return tl::unexpected(body.error());
  rendered.html = *body;
  if (!email->layout.empty()) {
    const std::string layout_file = "layouts/" + email->layout + ".mustache";
    auto cached = cache_->layouts.find(layout_file);
    if (cached == cache_->layouts.end()) {
      auto layout = read_file(layout_file);
      if (!layout) return tl::unexpected(layout.error());
      cached = cache_->layouts.emplace(layout_file, *layout).first;
    }
    const nlohmann::json content = {{"content", rendered.html}};
    auto wrapped = render(cached->second, "templates/" + layout_file, true, content);
    if (!wrapped) return tl::unexpected(wrapped.error());
    rendered.html = *wrapped;
  }
  if (!email->text.empty()) {
    auto text = render(email->text, "templates/" + name + ".txt.mustache", false, no_overlay);
    if (!text) return tl::unexpected(text.error());
    rendered.text = *text;
  } else {
    rendered.text = html_to_text(rendered.html);
  }
  return rendered;
}

}  // namespace nurture::templates
