#include "templates/mustache.hpp"

#include "templates/tracking.hpp"

#include <cctype>

#include <algorithm>
#include <functional>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nurture::templates {

using json = nlohmann::json;

struct MustacheTemplate::Node {
  enum class Kind { text, variable, raw_variable, section, inverted, partial };
  Kind kind = Kind::text;
  std::string text;                // text: the text; tags: the name
  std::vector<std::string> path;   // tags: the name split at dots; empty for `.`
  std::string indent;              // partial: the indentation of a standalone partial
  std::vector<Node> children;      // sections
  bool in_url = false;             // variables: inside an href/src value, after its host (percent-encoded in html)
};

namespace {

using Node = MustacheTemplate::Node;

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string trim(std::string_view text) {
  std::size_t begin = 0, end = text.size();
  while (begin < end && (is_blank(text[begin]) || text[begin] == '\n' || text[begin] == '\r')) ++begin;
  while (end > begin && (is_blank(text[end - 1]) || text[end - 1] == '\n' || text[end - 1] == '\r')) --end;
  return std::string(text.substr(begin, end - begin));
}

std::vector<std::string> split_name(const std::string& name) {
  std::vector<std::string> parts;
  if (name == ".") return parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    parts.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  tl::expected<std::vector<Node>, std::string> parse() {
    std::vector<Node> root;
    std::vector<std::vector<Node>*> open{&root};
    std::vector<std::pair<std::string, int>> open_names;  // section name, line
    std::size_t pos = 0;
    while (pos < source_.size()) {
      const std::size_t tag_start = source_.find(open_delim_, pos);
      if (tag_start == std::string::npos) {
        add_text(*open.back(), source_.substr(pos));
        break;
      }
      add_text(*open.back(), source_.substr(pos, tag_start - pos));
      std::size_t content_start = tag_start + open_delim_.size();
      char sigil = content_start < source_.size() ? source_[content_start] : '\0';
      std::string closing = close_delim_;
      if (sigil == '{') closing = "}" + close_delim_;
      else if (sigil == '=') closing = "=" + close_delim_;
      if (std::string("!#^/>&{=").find(sigil) != std::string::npos && sigil != '\0') ++content_start;
      else sigil = '\0';
      const std::size_t content_end = source_.find(closing, content_start);
      if (content_end == std::string::npos) {
        return tl::unexpected(fmt::format("line {}: tag `{}` is never closed (expected `{}`)", line_of(tag_start),
                                          source_.substr(tag_start, std::min<std::size_t>(20, source_.size() - tag_start)),
                                          closing));
      }
      std::size_t tag_end = content_end + closing.size();
      const std::string content = trim(source_.substr(content_start, content_end - content_start));

      // A standalone tag (alone on its line but for blanks) takes its whole line with it.
      std::string indent;
      const bool can_stand_alone = sigil == '!' || sigil == '#' || sigil == '^' || sigil == '/' || sigil == '>' ||
                                   sigil == '=';
      if (can_stand_alone) {
        if (auto after = standalone_end(tag_start, tag_end, indent)) {
          trim_line_start(*open.back(), indent.size());
          tag_end = *after;
        } else {
          indent.clear();
        }
      }
      pos = tag_end;

      if (sigil != '!' && sigil != '=' && content.empty()) {
        return tl::unexpected(fmt::format("line {}: empty tag", line_of(tag_start)));
      }
      switch (sigil) {
        case '!':
          break;
        case '=': {
          const std::size_t space = content.find_first_of(" \t");
          if (space == std::string::npos) {
            return tl::unexpected(fmt::format("line {}: set delimiters need two delimiters, like {{{{=<% %>=}}}}",
                                              line_of(tag_start)));
          }
          open_delim_ = content.substr(0, space);
          close_delim_ = trim(content.substr(space));
          if (open_delim_.empty() || close_delim_.empty() || close_delim_.find_first_of(" \t") != std::string::npos) {
            return tl::unexpected(fmt::format("line {}: bad set delimiters `{}`", line_of(tag_start), content));
          }
          break;
        }
        case '#':
        case '^': {
          Node node{sigil == '#' ? Node::Kind::section : Node::Kind::inverted, content, split_name(content), {}, {}};
          if (open_names.size() >= max_section_depth) {
            return tl::unexpected(fmt::format("line {}: sections nest deeper than {} levels", line_of(tag_start),
                                              max_section_depth));
          }
          open.back()->push_back(std::move(node));
          open.push_back(&open.back()->back().children);
          open_names.emplace_back(content, line_of(tag_start));
          break;
        }
        case '/':
          if (open_names.empty()) {
            return tl::unexpected(fmt::format("line {}: `{}` closes a section that was never opened",
                                              line_of(tag_start), content));
          }
          if (open_names.back().first != content) {
            return tl::unexpected(fmt::format("line {}: `{}` closes section `{}` (opened on line {})",
                                              line_of(tag_start), content, open_names.back().first,
                                              open_names.back().second));
          }
          open_names.pop_back();
          open.pop_back();
          break;
        case '>':
          open.back()->push_back(Node{Node::Kind::partial, content, {}, indent, {}});
          break;
        case '&':
        case '{':
          open.back()->push_back(Node{Node::Kind::raw_variable, content, split_name(content), {}, {}});
          break;
        default:
          open.back()->push_back(Node{Node::Kind::variable, content, split_name(content), {}, {}});
      }
      if (sigil == '\0' || sigil == '&' || sigil == '{') open.back()->back().in_url = in_url_after_host(tag_start);
    }
    if (!open_names.empty()) {
      return tl::unexpected(fmt::format("line {}: section `{}` is never closed", open_names.back().second,
                                        open_names.back().first));
    }
    return root;
  }

 private:
  // Where the standalone tag's line ends (past its newline), or nothing when the tag shares its line.
  std::optional<std::size_t> standalone_end(std::size_t tag_start, std::size_t tag_end, std::string& indent) const {
    std::size_t line_start = tag_start;
    while (line_start > 0 && source_[line_start - 1] != '\n') {
      if (!is_blank(source_[line_start - 1])) return std::nullopt;
      --line_start;
    }
    std::size_t after = tag_end;
    while (after < source_.size() && is_blank(source_[after])) ++after;
    if (after < source_.size()) {
      if (source_[after] == '\n') ++after;
      else if (source_[after] == '\r' && after + 1 < source_.size() && source_[after + 1] == '\n') after += 2;
      else return std::nullopt;
    }
    indent = std::string(source_.substr(line_start, tag_start - line_start));
    return after;
  }

  static void trim_line_start(std::vector<Node>& nodes, std::size_t blanks) {
    if (blanks == 0 || nodes.empty() || nodes.back().kind != Node::Kind::text) return;
    std::string& text = nodes.back().text;
    text.erase(text.size() - std::min(blanks, text.size()));
    if (text.empty()) nodes.pop_back();
  }

  static void add_text(std::vector<Node>& nodes, std::string_view text) {
    if (text.empty()) return;
    if (!nodes.empty() && nodes.back().kind == Node::Kind::text) {
      nodes.back().text += text;
    } else {
      nodes.push_back(Node{Node::Kind::text, std::string(text), {}, {}, {}});
    }
  }

  // Is `offset` inside a quoted href/src value, past the `scheme://host` part? Lead data there is a path or query
  // value, so it is percent-encoded when rendered: it cannot add parameters, break out of the attribute or change
  // the host. (Data in the host itself makes the link untracked instead: see add_tracking.)
  bool in_url_after_host(std::size_t offset) const {
    const std::size_t window = offset > 2048 ? offset - 2048 : 0;  // an attribute value is not longer than this
    const std::size_t quote = source_.find_last_of("\"'", offset == 0 ? 0 : offset - 1);
    if (quote == std::string_view::npos || quote < window || quote < 5 || offset == 0) return false;
    std::string name(source_.substr(quote - 5, 5));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name != "href=" && name.substr(1) != "src=") return false;
    const std::string_view value = source_.substr(quote + 1, offset - quote - 1);
    const std::size_t scheme_end = value.find("://");
    if (scheme_end == std::string_view::npos) return false;
    return value.find_first_of("/?#", scheme_end + 3) != std::string_view::npos;
  }

  // Offsets only grow while parsing: counting on from the last one keeps this linear in the source.
  int line_of(std::size_t offset) const {
    if (offset < counted_to_) counted_to_ = 0, lines_counted_ = 1;
    lines_counted_ += static_cast<int>(std::count(source_.begin() + static_cast<long>(counted_to_),
                                                  source_.begin() + static_cast<long>(offset), '\n'));
    counted_to_ = offset;
    return lines_counted_;
  }

  // Deeper nesting is no template a person writes; the bound keeps every walk of the tree shallow.
  static constexpr std::size_t max_section_depth = 100;
  mutable std::size_t counted_to_ = 0;
  mutable int lines_counted_ = 1;

  std::string_view source_;
  std::string open_delim_ = "{{";
  std::string close_delim_ = "}}";
};

void append_escaped(std::string& out, std::string_view text) {
  std::size_t plain_from = 0;  // the text between entities goes in as one piece, not a character at a time
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char* entity = nullptr;
    switch (text[i]) {
      case '&': entity = "&amp;"; break;
      case '<': entity = "&lt;"; break;
      case '>': entity = "&gt;"; break;
      case '"': entity = "&quot;"; break;
      case '\'': entity = "&#39;"; break;
      default: continue;
    }
    out.append(text.substr(plain_from, i - plain_from));
    out += entity;
    plain_from = i + 1;
  }
  out.append(text.substr(plain_from));
}

bool is_truthy(const json* value) {
  if (value == nullptr || value->is_null()) return false;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_array()) return !value->empty();
  if (value->is_string()) return !value->get_ref<const std::string&>().empty();
  return true;
}

constexpr int max_partial_depth = 64;

class Renderer {
 public:
  Renderer(const MustachePartials* partials, Escaping escaping) : partials_(partials), escaping_(escaping) {}

  tl::expected<void, std::string> render(const std::vector<Node>& nodes, std::vector<const json*>& stack,
                                         std::string& out, int depth) {
    for (const Node& node : nodes) {
      switch (node.kind) {
        case Node::Kind::text:
          out += node.text;
          break;
        case Node::Kind::variable:
        case Node::Kind::raw_variable: {
          const json* value = lookup(node.path, stack);
          if (value == nullptr || value->is_null()) break;
          if (node.in_url && escaping_ == Escaping::html) {
            // RFC 3986: all but the unreserved characters encoded, which is safe in any part of a URL and in HTML.
            out += percent_encode(value->is_string() ? value->get_ref<const std::string&>()
                                                     : value->dump(-1, ' ', false, json::error_handler_t::replace));
            break;
          }
          const bool escape = node.kind == Node::Kind::variable && escaping_ == Escaping::html;
          if (value->is_string()) {
            const auto& text = value->get_ref<const std::string&>();
            if (escape) append_escaped(out, text);
            else out += text;
          } else {
            const std::string text = value->dump(-1, ' ', false, json::error_handler_t::replace);
            if (escape) append_escaped(out, text);
            else out += text;
          }
          break;
        }
        case Node::Kind::section: {
          const json* value = lookup(node.path, stack);
          if (!is_truthy(value)) break;
          if (value->is_array()) {
            for (const json& item : *value) {
              stack.push_back(&item);
              auto done = render(node.children, stack, out, depth);
              stack.pop_back();
              if (!done) return done;
            }
          } else {
            stack.push_back(value);
            auto done = render(node.children, stack, out, depth);
            stack.pop_back();
            if (!done) return done;
          }
          break;
        }
        case Node::Kind::inverted:
          if (!is_truthy(lookup(node.path, stack))) {
            auto done = render(node.children, stack, out, depth);
            if (!done) return done;
          }
          break;
        case Node::Kind::partial: {
          if (partials_ == nullptr) break;
          if (depth >= max_partial_depth) {
            return tl::unexpected(fmt::format("partial `{}` nests deeper than {} levels", node.text, max_partial_depth));
          }
          auto partial = partials_->find(node.text, node.indent);
          if (!partial) return tl::unexpected(fmt::format("partial `{}`: {}", node.text, partial.error()));
          if (*partial == nullptr) break;
          auto done = render_partial(**partial, stack, out, depth + 1);
          if (!done) return done;
          break;
        }
      }
    }
    return {};
  }

  tl::expected<void, std::string> render_partial(const MustacheTemplate& partial, std::vector<const json*>& stack,
                                                 std::string& out, int depth) {
    if (partial.nodes() == nullptr) return {};
    return render(*partial.nodes(), stack, out, depth);
  }

 private:
  static const json* lookup(const std::vector<std::string>& path, const std::vector<const json*>& stack) {
    if (path.empty()) return stack.back();  // `.`
    const json* found = nullptr;
    for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
      if ((*it)->is_object()) {
        auto member = (*it)->find(path.front());
        if (member != (*it)->end()) {
          found = &*member;
          break;
        }
      }
    }
    // The rest of a dotted name resolves inside what the first part found, never further up.
    for (std::size_t i = 1; found != nullptr && i < path.size(); ++i) {
      if (!found->is_object()) return nullptr;
      auto member = found->find(path[i]);
      found = member == found->end() ? nullptr : &*member;
    }
    return found;
  }

  const MustachePartials* partials_;
  Escaping escaping_;
};

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  append_escaped(out, text);
  return out;
}

// Both arms of `nodes_ ? *nodes_ : ...` must be lvalues: with a temporary on one side the whole tree is copied.
const std::vector<Node> no_nodes;

MustacheTemplate::MustacheTemplate() = default;
MustacheTemplate::~MustacheTemplate() = default;
MustacheTemplate::MustacheTemplate(MustacheTemplate&&) noexcept = default;
MustacheTemplate& MustacheTemplate::operator=(MustacheTemplate&&) noexcept = default;

tl::expected<MustacheTemplate, std::string> MustacheTemplate::compile(std::string_view source) {
  auto nodes = Parser(source).parse();
  if (!nodes) return tl::unexpected(nodes.error());
  MustacheTemplate compiled;
  compiled.nodes_ = std::make_shared<const std::vector<Node>>(std::move(*nodes));
  return compiled;
}


tl::expected<std::string, std::string> MustacheTemplate::render(const json& data, const MustachePartials* partials,
                                                                Escaping escaping) const {
  std::string out;
  std::vector<const json*> stack{&data};
  Renderer renderer(partials, escaping);
  auto done = renderer.render(nodes_ ? *nodes_ : no_nodes, stack, out, 0);
  if (!done) return tl::unexpected(done.error());
  return out;
}

tl::expected<std::string, std::string> MustacheTemplate::render(const json& data, const json& overlay,
                                                                const MustachePartials* partials,
                                                                Escaping escaping) const {
  std::string out;
  std::vector<const json*> stack{&data, &overlay};
  Renderer renderer(partials, escaping);
  auto done = renderer.render(nodes_ ? *nodes_ : no_nodes, stack, out, 0);
  if (!done) return tl::unexpected(done.error());
  return out;
}

namespace {
void collect(const std::vector<Node>& nodes, std::vector<std::string>& names, bool partials) {
  for (const Node& node : nodes) {
    if ((node.kind == Node::Kind::partial) == partials && node.kind != Node::Kind::text) names.push_back(node.text);
    collect(node.children, names, partials);
  }
}
}  // namespace

std::vector<std::string> MustacheTemplate::names_used() const {
  std::vector<std::string> names;
  if (nodes_) collect(*nodes_, names, false);
  return names;
}

std::vector<std::string> MustacheTemplate::partials_used() const {
  std::vector<std::string> names;
  if (nodes_) collect(*nodes_, names, true);
  return names;
}

MustachePartials::MustachePartials(std::map<std::string, std::string> sources) : sources_(std::move(sources)) {}
MustachePartials::~MustachePartials() = default;

tl::expected<const MustacheTemplate*, std::string> MustachePartials::find(const std::string& name,
                                                                          const std::string& indent) const {
  auto cached = compiled_.find({name, indent});
  if (cached != compiled_.end()) return &cached->second;
  if (auto failed = failed_.find({name, indent}); failed != failed_.end()) return tl::unexpected(failed->second);
  auto source = sources_.find(name);
  if (source == sources_.end()) return nullptr;
  std::string text = source->second;
  if (!indent.empty()) {
    std::string indented = indent;
    for (std::size_t i = 0; i < text.size(); ++i) {
      indented += text[i];
      if (text[i] == '\n' && i + 1 < text.size()) indented += indent;
    }
    text = std::move(indented);
  }
  auto compiled = MustacheTemplate::compile(text);
  if (!compiled) return tl::unexpected(failed_.emplace(std::make_pair(name, indent), compiled.error()).first->second);
  return &compiled_.emplace(std::make_pair(name, indent), std::move(*compiled)).first->second;
}

void MustachePartials::compile_reached_by(const MustacheTemplate& template_) const {
  const std::function<void(const std::vector<Node>*)> visit = [&](const std::vector<Node>* nodes) {
    if (nodes == nullptr) return;
    for (const Node& node : *nodes) {
      if (node.kind == Node::Kind::partial) {
        const auto key = std::make_pair(node.text, node.indent);
        if (compiled_.count(key) == 0 && failed_.count(key) == 0) {  // each once: a partial may include itself
          auto partial = find(node.text, node.indent);
          if (partial && *partial != nullptr) visit((*partial)->nodes());
        }
      }
      visit(&node.children);
    }
  };
  visit(template_.nodes());
}

tl::expected<std::string, std::string> render_mustache(std::string_view source, const json& data,
                                                       const std::map<std::string, std::string>& partials,
                                                       Escaping escaping) {
  auto compiled = MustacheTemplate::compile(source);
  if (!compiled) return tl::unexpected(compiled.error());
  MustachePartials partial_set(partials);
  return compiled->render(data, &partial_set, escaping);
}

}  // namespace nurture::templates
