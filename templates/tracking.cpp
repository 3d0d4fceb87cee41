#include "templates/tracking.hpp"

#include "templates/html_to_text.hpp"
#include "text/encoding.hpp"

#include "text/url.hpp"

#include "templates/mustache.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace nurture::templates {

namespace {

constexpr std::size_t signature_bytes = 16;

std::string trimmed_base(const std::string& base_url) {
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// The end of the tag that starts at `open` ('<'), quotes respected; npos when unterminated.
std::size_t tag_end(std::string_view html, std::size_t open) {
  char quote = 0;
  for (std::size_t i = open + 1; i < html.size(); ++i) {
    const char c = html[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

struct Attribute {
  std::size_t value_begin = 0, value_end = 0;  // offsets into the tag, without quotes
  bool found = false;
};

// Finds attribute `name` (lower case) in the tag text `<a ...>`.
Attribute find_attribute(std::string_view tag, std::string_view name, bool& has_notrack) {
  Attribute result;
  std::size_t i = 2;  // past "<a"
  while (i < tag.size()) {
    while (i < tag.size() && (std::isspace(static_cast<unsigned char>(tag[i])) || tag[i] == '/')) ++i;
    const std::size_t name_begin = i;
    while (i < tag.size() && !std::isspace(static_cast<unsigned char>(tag[i])) && tag[i] != '=' && tag[i] != '>') ++i;
    std::string attribute(tag.substr(name_begin, i - name_begin));
    std::transform(attribute.begin(), attribute.end(), attribute.begin(), [](unsigned char c) { return std::tolower(c); });
    while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
    std::size_t value_begin = i, value_end = i;
    if (i < tag.size() && tag[i] == '=') {
      ++i;
      while (i < tag.size() && std::isspace(static_cast<unsigned char>(tag[i]))) ++i;
      if (i < tag.size() && (tag[i] == '"' || tag[i] == '\'')) {
        const char quote = tag[i++];
        value_begin = i;
        while (i < tag.size() && tag[i] != quote) ++i;
        value_end = i;
        if (i < tag.size()) ++i;
      } else {
        value_begin = i;
        while (i < tag.size() && !std::isspace(static_cast<unsigned char>(tag[i])) && tag[i] != '>') ++i;
        value_end = i;
      }
    }
    if (attribute == "data-notrack") has_notrack = true;
    if (attribute == name && !result.found) result = {value_begin, value_end, true};
    if (attribute.empty()) ++i;
  }
  return result;
}

}  // namespace

std::string encode_ref(const TrackingRef& ref) {
  const std::string joined = ref.action_id + '\x1f' + ref.lead + '\x1f' + ref.workflow + '\x1f' + ref.step;
  return text::base64url_encode(joined);
}

bool decode_ref(std::string_view text, TrackingRef& ref) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string bytes;
  unsigned value = 0;
  int bits = 0;
  for (char c : text) {
    const auto index = alphabet.find(c);
    if (index == std::string::npos) return false;
    value = (value << 6) | static_cast<unsigned>(index);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((value >> bits) & 0xff);
    }
  }
  std::string parts[4];
  int field = 0;
  for (char c : bytes) {
    if (c == '\x1f') {
      if (++field > 3) return false;
    } else {
      parts[field] += c;
    }
  }
  if (field != 3 || parts[0].empty() || parts[1].empty()) return false;
  ref = {parts[0], parts[1], parts[2], parts[3]};
  return true;
}

std::string percent_encode(std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else if (text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

namespace {

// HMAC-SHA256 (RFC 2104) with the keyed inner and outer states computed once per secret: OpenSSL 3's one-shot
// HMAC() fetches the algorithm on every call, which was a quarter of the cost of preparing an email.
class KeyedSha256 {
 public:
  explicit KeyedSha256(std::string_view key) : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)) {
    std::array<unsigned char, 64> block{};
    if (key.size() > block.size()) {
      unsigned int n = 0;
      EVP_Digest(key.data(), key.size(), block.data(), &n, md_, nullptr);
    } else {
      std::copy(key.begin(), key.end(), block.begin());
    }
    std::array<unsigned char, 64> pad{};
    for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x36;
    inner_ = keyed(pad);
    for (std::size_t i = 0; i < pad.size(); ++i) pad[i] = block[i] ^ 0x5c;
    outer_ = keyed(pad);
  }
  ~KeyedSha256() {
    EVP_MD_CTX_free(inner_);
    EVP_MD_CTX_free(outer_);
    EVP_MD_free(md_);
  }
  KeyedSha256(const KeyedSha256&) = delete;
  KeyedSha256& operator=(const KeyedSha256&) = delete;

  std::array<unsigned char, 32> mac(std::string_view message) const {
    thread_local EVP_MD_CTX* work = EVP_MD_CTX_new();
    std::array<unsigned char, 32> inner_digest{}, out{};
    unsigned int n = 0;
    EVP_MD_CTX_copy_ex(work, inner_);
    EVP_DigestUpdate(work, message.data(), message.size());
    EVP_DigestFinal_ex(work, inner_digest.data(), &n);
    EVP_MD_CTX_copy_ex(work, outer_);
    EVP_DigestUpdate(work, inner_digest.data(), inner_digest.size());
    EVP_DigestFinal_ex(work, out.data(), &n);
    return out;
  }

 private:
  EVP_MD_CTX* keyed(const std::array<unsigned char, 64>& pad) const {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    EVP_DigestInit_ex(context, md_, nullptr);
    EVP_DigestUpdate(context, pad.data(), pad.size());
    return context;
  }
  EVP_MD* md_;
  EVP_MD_CTX* inner_ = nullptr;
  EVP_MD_CTX* outer_ = nullptr;
};

// One keyed state per secret in use (there is one secret per process, two in tests).
const KeyedSha256& keyed_for(const std::string& secret) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<KeyedSha256>> by_secret;
  std::lock_guard lock(mutex);
  auto& slot = by_secret[secret];
  if (!slot) slot = std::make_unique<KeyedSha256>(secret);
  return *slot;
}

}  // namespace

std::string TrackingLinks::signature(char kind, std::string_view ref, std::string_view target) const {
  std::string message;
  message.reserve(ref.size() + target.size() + 3);
  message += kind;
  message += '\n';
  message += ref;
  message += '\n';
  message += target;
  const auto digest = keyed_for(secret).mac(message);
  return text::base64url_encode(text::bytes_of(digest.data(), signature_bytes));
}

bool TrackingLinks::verify(char kind, std::string_view ref, std::string_view target,
                           std::string_view given) const {
  const std::string expected = signature(kind, ref, target);
  return given.size() == expected.size() && CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

std::string TrackingLinks::click_url(std::string_view ref, std::string_view target) const {
  return trimmed_base(base_url) + "/t/c/" + std::string(ref) + "/" + signature('c', ref, target) + "?u=" +
         percent_encode(target);
}

std::string TrackingLinks::open_pixel_url(std::string_view ref) const {
  return trimmed_base(base_url) + "/t/o/" + std::string(ref) + "/" + signature('o', ref) + ".gif";
}

std::string TrackingLinks::unsubscribe_url(std::string_view ref) const {
  return trimmed_base(base_url) + "/u/" + std::string(ref) + "/" + signature('u', ref);
}

void collect_link_hosts(std::string_view source, std::set<std::string>& hosts) {
  for (std::size_t pos = 0; (pos = source.find("://", pos)) != std::string_view::npos; pos += 3) {
    // Only `href=` values: look back over the scheme and an opening quote.
    std::size_t scheme = pos;
    while (scheme > 0 && std::isalpha(static_cast<unsigned char>(source[scheme - 1]))) --scheme;
    const std::string_view name = source.substr(scheme, pos - scheme);
    if (!(name == "http" || name == "https" || name == "HTTP" || name == "HTTPS")) continue;
    std::size_t before = scheme;
    if (before > 0 && (source[before - 1] == '"' || source[before - 1] == '\'')) --before;
    if (before < 5 || !starts_with_nocase(source.substr(before - 5), "href=")) continue;
    std::size_t end = pos + 3;
    while (end < source.size() && std::string_view("/?#:\"' >\t\r\n").find(source[end]) == std::string_view::npos) {
      ++end;
    }
    const std::string_view host = source.substr(pos + 3, end - pos - 3);
    if (host.empty() || host.find('{') != std::string_view::npos) continue;  // filled in from data
    std::string lower(host);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    hosts.insert(std::move(lower));
  }
}

std::string add_tracking(std::string_view html, const TrackingLinks& links, std::string_view ref,
                         const std::set<std::string>& trusted_hosts) {
  static const std::set<std::string> none;
  return add_tracking(html, links, ref, trusted_hosts, none);
}

std::string add_tracking(std::string_view html, const TrackingLinks& links, std::string_view ref,
                         const std::set<std::string>& trusted_hosts, const std::set<std::string>& also_trusted) {
  // The unsubscribe link (signed by the caller already) is known by its path; no need to sign it again here.
  const std::string unsubscribe_prefix = trimmed_base(links.base_url) + "/u/" + std::string(ref) + "/";
  std::string out;
  out.reserve(html.size() + 512);
  std::size_t copied = 0;
  for (std::size_t pos = html.find('<'); pos != std::string_view::npos; pos = html.find('<', pos + 1)) {
    if (pos + 2 >= html.size() || (html[pos + 1] != 'a' && html[pos + 1] != 'A') ||
        !std::isspace(static_cast<unsigned char>(html[pos + 2]))) {
      continue;
    }
    const std::size_t end = tag_end(html, pos);
    if (end == std::string_view::npos) break;
    const std::string_view tag = html.substr(pos, end - pos + 1);
    bool notrack = false;
    const Attribute href = find_attribute(tag, "href", notrack);
    if (!href.found || notrack) continue;
    const std::string target = decode_html_entities(tag.substr(href.value_begin, href.value_end - href.value_begin));
    if (!(starts_with_nocase(target, "http://") || starts_with_nocase(target, "https://")) ||
        target.rfind(unsubscribe_prefix, 0) == 0) {
      continue;
    }
    const auto url = text::parse_http_url(target);
    if (!url || (!trusted_hosts.count(url->host) && !also_trusted.count(url->host))) continue;
    out.append(html.substr(copied, pos + href.value_begin - copied));
    out += escape_html(links.click_url(ref, target));
    copied = pos + href.value_end;
    pos = end;
  }
  out.append(html.substr(copied));

  const std::string pixel = "<img src=\"" + escape_html(links.open_pixel_url(ref)) +
                            "\" width=\"1\" height=\"1\" alt=\"\" style=\"display:block;border:0\">";
  std::size_t body_close = std::string::npos;
  for (std::size_t i = out.size(); i-- > 0;) {
    if (out[i] == '<' && starts_with_nocase(std::string_view(out).substr(i), "</body")) {
      body_close = i;
      break;
    }
  }
  if (body_close == std::string::npos) out += pixel;
  else out.insert(body_close, pixel);
  return out;
}

}  // namespace nurture::templates
