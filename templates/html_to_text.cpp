// A deliberately small HTML-to-text pass for email bodies: marketers' templates are simple, hand-written HTML,
// and the text part only needs to be readable. Script/style/head contents are dropped, block ends become line
// breaks, entities that email HTML uses are decoded, and `<a href=URL>text</a>` becomes `text (URL)`.

#include "templates/html_to_text.hpp"

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace nurture::templates {

namespace {

// ASCII only, and without the locale std::tolower consults for every character: tag and attribute names are
// ASCII, and a tag holding a long link is lowered on every send.
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// Where `lowered` (lower case already) first occurs in `text` from `from` on, ignoring case; npos if nowhere.
std::size_t find_ignoring_case(std::string_view text, std::string_view lowered, std::size_t from) {
  if (lowered.empty() || lowered.size() > text.size()) return std::string_view::npos;
  for (std::size_t at = from; at + lowered.size() <= text.size(); ++at) {
    std::size_t k = 0;
    while (k < lowered.size() && ascii_lower(text[at + k]) == lowered[k]) ++k;
    if (k == lowered.size()) return at;
  }
  return std::string_view::npos;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

std::string attribute(std::string_view tag, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = find_ignoring_case(tag, name, pos)) != std::string_view::npos) {
    const bool starts_word = pos > 0 && is_space(tag[pos - 1]);
    std::size_t after = pos + name.size();
    while (after < tag.size() && is_space(tag[after])) ++after;
    if (starts_word && after < tag.size() && tag[after] == '=') {
      ++after;
      while (after < tag.size() && is_space(tag[after])) ++after;
      if (after >= tag.size()) return {};
      const char quote = tag[after];
      if (quote == '"' || quote == '\'') {
        const std::size_t end = tag.find(quote, after + 1);
        return std::string(tag.substr(after + 1, end == std::string::npos ? std::string::npos : end - after - 1));
      }
      std::size_t end = after;
      while (end < tag.size() && !is_space(tag[end]) && tag[end] != '>') ++end;
      return std::string(tag.substr(after, end - after));
    }
    pos = after;
  }
  return {};
}

bool is_block_end(const std::string& name) {
  static const char* blocks[] = {"p", "/p", "br", "br/", "div", "/div", "/h1", "/h2", "/h3", "/h4",
                                 "/h5", "/h6", "/tr", "/table", "hr", "/ul", "/ol", "/blockquote"};
  return std::any_of(std::begin(blocks), std::end(blocks), [&](const char* b) { return name == b; });
}

// Collapses runs of spaces inside lines, trims lines, keeps at most one blank line between paragraphs.
std::string tidy(const std::string& raw) {
  std::string out;
  std::string line;
  int blank_run = 0;
  out.reserve(raw.size() + 1);
  auto flush = [&](bool end_of_line) {
    const std::size_t begin = line.find_first_not_of(' ');
    const std::size_t end = line.find_last_not_of(' ');
    const std::string_view trimmed =
        begin == std::string::npos ? std::string_view() : std::string_view(line).substr(begin, end - begin + 1);
    if (trimmed.empty()) {
      ++blank_run;
      if (blank_run == 1 && !out.empty()) out += '\n';
    } else {
      blank_run = 0;
      out += trimmed;
      if (end_of_line) out += '\n';
    }
    line.clear();
  };
  for (std::size_t i = 0; i < raw.size();) {
    const char c = raw[i];
    if (c == '\n') {
      flush(true);
      ++i;
    } else if (c == ' ' || c == '\t' || c == '\r') {
      if (!line.empty() && line.back() != ' ') line += ' ';
      ++i;
    } else {  // a run of visible characters, appended at once
      std::size_t end = i;
      while (end < raw.size() && raw[end] != ' ' && raw[end] != '\t' && raw[end] != '\r' && raw[end] != '\n') ++end;
      line.append(raw, i, end - i);
      i = end;
    }
  }
  flush(false);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  out += '\n';
  return out;
}

}  // namespace

std::string html_to_text(std::string_view html) {
  std::string raw;
  raw.reserve(html.size());
  std::string pending_href;
  std::size_t i = 0;
  while (i < html.size()) {
    if (html[i] != '<') {
      std::size_t next = html.find('<', i);
      if (next == std::string_view::npos) next = html.size();
      const std::string_view text = html.substr(i, next - i);
      const std::size_t from = raw.size();
      if (text.find('&') == std::string_view::npos) {
        raw.append(text);  // most text has no entity: no copy of its own
      } else {
        raw += decode_html_entities(text);
      }
      std::replace(raw.begin() + static_cast<std::ptrdiff_t>(from), raw.end(), '\n', ' ');
      i = next;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      std::size_t end = html.find("-->", i);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    std::size_t end = html.find('>', i);
    if (end == std::string_view::npos) break;
    const std::string_view tag = html.substr(i + 1, end - i - 1);
    std::size_t name_end = 0;
    while (name_end < tag.size() && !is_space(tag[name_end]) && tag[name_end] != '>') ++name_end;
    const std::string name = lower(tag.substr(0, name_end));
    i = end + 1;
    if (name == "style" || name == "script" || name == "head" || name == "title") {
      const std::size_t close = find_ignoring_case(html, "</" + name, i);
      if (close == std::string_view::npos) break;
      std::size_t close_end = html.find('>', close);
      i = close_end == std::string_view::npos ? html.size() : close_end + 1;
      continue;
    }
    if (name == "a") {
      pending_href = decode_html_entities(attribute(tag, "href"));
    } else if (name == "/a") {
      if (!pending_href.empty() && pending_href.rfind("mailto:", 0) != 0) raw += " (" + pending_href + ")";
      pending_href.clear();
    } else if (name == "li") {
      raw += "\n- ";
    } else if (is_block_end(name)) {
      raw += (name == "br" || name == "br/") ? "\n" : "\n\n";
    }
  }
  return tidy(raw);
}

std::string decode_html_entities(std::string_view text) {
  static const std::pair<std::string_view, std::string_view> entities[] = {
      {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&#39;", "'"},
      {"&apos;", "'"}, {"&nbsp;", " "}, {"&#x27;", "'"}, {"&#x2F;", "/"}, {"&#x3D;", "="}};
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t amp = text.find('&', i);
    if (amp != i) {  // the run up to the next entity, copied at once
      const std::size_t end = amp == std::string_view::npos ? text.size() : amp;
      out.append(text.substr(i, end - i));
      i = end;
      continue;
    }
    bool replaced = false;
    if (text[i] == '&') {
      for (const auto& [entity, value] : entities) {
        if (text.substr(i, entity.size()) == entity) {
          out += value;
          i += entity.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

}  // namespace nurture::templates
