#include "text/address.hpp"

#include <cctype>
#include <cstring>
#include <memory>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "text/encoding.hpp"
#include "text/utf8.hpp"

namespace nurture::text {

namespace {

constexpr std::size_t max_local_part = 64;
constexpr std::size_t max_address = 254;
constexpr std::size_t max_label = 63;

bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;  // UTF-8 (RFC 6531); validity is checked for the whole address
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c != 0 && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

bool valid_dot_string(std::string_view local) {
  if (local.empty() || local.front() == '.' || local.back() == '.') return false;
  for (std::size_t i = 0; i < local.size(); ++i) {
    const auto c = static_cast<unsigned char>(local[i]);
    if (c == '.') {
      if (local[i + 1] == '.') return false;
      continue;
    }
    if (!is_atext(c)) return false;
  }
  return true;
}

// "..." with qtextSMTP and quoted-pairSMTP (printable ASCII only).
bool valid_quoted_string(std::string_view local) {
  if (local.size() < 2 || local.front() != '"' || local.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < local.size(); ++i) {
    const auto c = static_cast<unsigned char>(local[i]);
    if (c < 32 || c > 126) return false;
    if (c == '\\') {
      ++i;
      if (i + 1 >= local.size()) return false;
      const auto quoted = static_cast<unsigned char>(local[i]);
      if (quoted < 32 || quoted > 126) return false;
    } else if (c == '"') {
      return false;
    }
  }
  return true;
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > max_label || label.front() == '-' || label.back() == '-') return false;
  for (unsigned char c : label) {
    const bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ldh && c < 0x80) return false;  // UTF-8 labels (IDN) pass; the relay may need SMTPUTF8 for them
  }
  return true;
}

bool valid_domain(std::string_view domain) {
  if (domain.size() >= 2 && domain.front() == '[' && domain.back() == ']') {
    for (unsigned char c : domain.substr(1, domain.size() - 2)) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
                      c == ':' || c == 'I' || c == 'P' || c == 'v';
      if (!ok) return false;
    }
    return domain.size() > 2;
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = domain.find('.', start);
    if (!valid_label(domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start))) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

std::string_view trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

}  // namespace

std::optional<std::string> parse_address(std::string_view text) {
  const std::string_view address = trim(text);
  if (address.empty() || address.size() > max_address || !is_valid_utf8(address)) return std::nullopt;
  const auto at = address.rfind('@');
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.size() > max_local_part) return std::nullopt;
  if (!valid_dot_string(local) && !valid_quoted_string(local)) return std::nullopt;
  if (!valid_domain(domain)) return std::nullopt;
  return std::string(address);
}

std::optional<Mailbox> parse_mailbox(std::string_view text) {
  const std::string_view trimmed = trim(text);
  if (trimmed.empty() || has_control(trimmed) || !is_valid_utf8(trimmed)) return std::nullopt;
  Mailbox mailbox;
  if (trimmed.back() != '>') {
    auto address = parse_address(trimmed);
    if (!address) return std::nullopt;
    mailbox.address = std::move(*address);
    return mailbox;
  }
  const auto open = trimmed.rfind('<');
  if (open == std::string_view::npos) return std::nullopt;
  auto address = parse_address(trimmed.substr(open + 1, trimmed.size() - open - 2));
  if (!address) return std::nullopt;
  mailbox.address = std::move(*address);
  std::string_view name = trim(trimmed.substr(0, open));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    for (std::size_t i = 1; i + 1 < name.size(); ++i) {
      if (name[i] == '\\' && i + 2 < name.size()) ++i;
      mailbox.display_name += name[i];
    }
  } else {
    if (name.find_first_of("<>\"") != std::string_view::npos) return std::nullopt;
    mailbox.display_name = std::string(name);
  }
  return mailbox;
}

std::string address_key(std::string_view text) {
  auto mailbox = parse_mailbox(text);
  std::string key = mailbox ? mailbox->address : std::string(trim(text));
  for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return key;
}

namespace {
// OpenSSL 3's one-shot SHA256() fetches the algorithm on every call; the dispatcher hashes every recipient it
// checks against the suppression list, so the algorithm is fetched once and each thread keeps a context.
void sha256(std::string_view data, unsigned char* digest) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                                     &EVP_MD_CTX_free);
  unsigned int size = 0;
  EVP_DigestInit_ex(context.get(), md, nullptr);
  EVP_DigestUpdate(context.get(), data.data(), data.size());
  EVP_DigestFinal_ex(context.get(), digest, &size);
}
}  // namespace

std::string address_hash(std::string_view text) { return hash_of_address_key(address_key(text)); }

std::string hash_of_address_key(std::string_view key) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  sha256(key, digest);
  return "sha256:" + hex_encode(bytes_of(digest, sizeof digest));
}

std::string masked_address(std::string_view text) {
  const std::string key = address_key(text);
  const auto at = key.rfind('@');
  if (at == std::string::npos || at == 0) return "***";
  // The first character whole, even when it is a multi-byte UTF-8 sequence.
  std::size_t first = 1;
  while (first < at && (static_cast<unsigned char>(key[first]) & 0xC0) == 0x80) ++first;
  return key.substr(0, first) + "***" + key.substr(at);
}

std::string address_domain(std::string_view address) {
  const auto at = address.rfind('@');
  if (at == std::string_view::npos || at + 1 >= address.size()) return "localhost";
  std::string domain(address.substr(at + 1));
  if (!domain.empty() && domain.back() == '>') domain.pop_back();
  return domain;
}

}  // namespace nurture::text
