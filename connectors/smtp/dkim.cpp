#include "connectors/smtp/dkim.hpp"
#include "text/encoding.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace nurture::connectors {

struct DkimSigner::Key {
  EVP_PKEY* pkey = nullptr;
  ~Key() { EVP_PKEY_free(pkey); }
};

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::vector<unsigned char> sha256(std::string_view data) {
  std::vector<unsigned char> digest(EVP_MAX_MD_SIZE);
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  digest.resize(length);
  return digest;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

struct Header {
  std::string name;   // as written
  std::string value;  // everything after the colon, folds included
};

// Splits the header block into fields (continuation lines belong to the field above).
std::vector<Header> parse_headers(std::string_view headers) {
  std::vector<Header> out;
  std::size_t pos = 0;
  while (pos < headers.size()) {
    std::size_t eol = headers.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = headers.size();
    const std::string_view line = headers.substr(pos, eol - pos);
    if (!line.empty() && is_wsp(line[0]) && !out.empty()) {
      out.back().value += "\r\n";
      out.back().value += line;
    } else {
      const std::size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        out.push_back({std::string(line.substr(0, colon)), std::string(line.substr(colon + 1))});
      }
    }
    pos = eol + 2;
  }
  return out;
}

}  // namespace

DkimSigner::~DkimSigner() = default;

Expected<std::unique_ptr<DkimSigner>> DkimSigner::load(const std::filesystem::path& key_file, std::string selector,
                                                       std::string domain) {
  // The key file is named in the message: the error is placed at the connector's config, which names the file.
  const std::string shown = key_file.string();
  FILE* file = std::fopen(key_file.c_str(), "r");
  if (!file) return fail(fmt::format("cannot read the DKIM key {}", shown));
  EVP_PKEY* pkey = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  if (!pkey) return fail(fmt::format("{} is not a PEM private key", shown));
  const int type = EVP_PKEY_get_base_id(pkey);
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pkey);
    return fail(fmt::format("{}: DKIM keys are RSA or Ed25519", shown));
  }
  if (type == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) < 1024) {
    EVP_PKEY_free(pkey);
    return fail(fmt::format("{}: an RSA DKIM key needs at least 1024 bits", shown), {}, "2048 are recommended");
  }
  if (selector.empty() || domain.empty()) {
    EVP_PKEY_free(pkey);
    return fail("DKIM needs a selector and a domain");
  }
  std::unique_ptr<DkimSigner> signer(new DkimSigner());
  signer->key_ = std::make_unique<Key>();
  signer->key_->pkey = pkey;
  signer->selector_ = std::move(selector);
  signer->domain_ = lower(domain);
  return signer;
}

const char* DkimSigner::algorithm() const {
  return EVP_PKEY_get_base_id(key_->pkey) == EVP_PKEY_ED25519 ? "ed25519-sha256" : "rsa-sha256";
}

std::string DkimSigner::relaxed_body(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find("\r\n", pos);
    const bool terminated = eol != std::string_view::npos;
    if (!terminated) eol = body.size();
    std::string line;
    bool in_wsp = false;
    for (char c : body.substr(pos, eol - pos)) {
      if (is_wsp(c)) {
        in_wsp = true;
      } else {
        if (in_wsp) line += ' ';
        in_wsp = false;
        line += c;
      }
    }
    // Trailing whitespace is dropped (in_wsp at the end adds nothing).
    out += line;
    out += "\r\n";
    pos = terminated ? eol + 2 : body.size();
  }
  while (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0 &&
         (out.size() == 2 || out.compare(out.size() - 4, 2, "\r\n") == 0)) {
    out.resize(out.size() - 2);  // empty lines at the end go
  }
  return out;
}

std::string DkimSigner::relaxed_header(std::string_view name, std::string_view value) {
  std::string out = lower(name);
  while (!out.empty() && is_wsp(out.back())) out.pop_back();
  out += ':';
  std::string unfolded;
  for (char c : value) {
    if (c != '\r' && c != '\n') unfolded += c;
  }
  bool in_wsp = false;
  std::string compact;
  for (char c : unfolded) {
    if (is_wsp(c)) {
      in_wsp = true;
    } else {
      if (in_wsp && !compact.empty()) compact += ' ';
      in_wsp = false;
      compact += c;
    }
  }
  out += compact;
  return out;
}

std::string DkimSigner::sign(std::string_view message, long long unix_time) const {
  std::size_t split = message.find("\r\n\r\n");
  const std::string_view header_block = split == std::string_view::npos ? message : message.substr(0, split + 2);
  const std::string_view body = split == std::string_view::npos ? std::string_view{} : message.substr(split + 4);

  static const char* const wanted[] = {"from",         "to",           "cc",          "reply-to",
                                       "subject",      "date",         "message-id",  "mime-version",
                                       "content-type", "list-unsubscribe", "list-unsubscribe-post"};
  const std::vector<Header> headers = parse_headers(header_block);
  std::vector<std::string> signed_names;
  std::string signed_data;
  for (const char* name : wanted) {
    // The last instance is the one a verifier takes first (RFC 6376 5.4.2); ours have one each.
    for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
      if (lower(it->name) == name) {
        signed_names.push_back(name);
        signed_data += relaxed_header(it->name, it->value) + "\r\n";
        break;
      }
    }
  }
  const auto body_hash = sha256(relaxed_body(body));
  std::string h;
  for (const auto& name : signed_names) h += (h.empty() ? "" : ":") + name;
  const std::string tags = fmt::format("v=1; a={}; c=relaxed/relaxed; d={}; s={};\r\n\tt={}; h={};\r\n\tbh={};\r\n\tb=",
                                       algorithm(), domain_, selector_, unix_time, h,
                                       text::base64_encode(text::bytes_of(body_hash.data(), body_hash.size())));
  signed_data += relaxed_header("DKIM-Signature", tags);  // with an empty b=, no CRLF (RFC 6376 3.7)

  std::vector<unsigned char> signature;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  std::size_t length = 0;
  bool ok = false;
  if (EVP_PKEY_get_base_id(key_->pkey) == EVP_PKEY_ED25519) {
    // RFC 8463: Ed25519 signs the SHA-256 digest of the data (PureEdDSA over the hash).
    const auto digest = sha256(signed_data);
    ok = EVP_DigestSignInit(context, nullptr, nullptr, nullptr, key_->pkey) == 1 &&
         EVP_DigestSign(context, nullptr, &length, digest.data(), digest.size()) == 1;
    signature.resize(length);
    ok = ok && EVP_DigestSign(context, signature.data(), &length, digest.data(), digest.size()) == 1;
  } else {
    ok = EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key_->pkey) == 1 &&
         EVP_DigestSign(context, nullptr, &length, reinterpret_cast<const unsigned char*>(signed_data.data()),
                        signed_data.size()) == 1;
    signature.resize(length);
    ok = ok && EVP_DigestSign(context, signature.data(), &length,
                              reinterpret_cast<const unsigned char*>(signed_data.data()), signed_data.size()) == 1;
  }
  EVP_MD_CTX_free(context);
  if (!ok) throw std::runtime_error("DKIM signing failed in OpenSSL");  // a loaded key that cannot sign is a bug
  signature.resize(length);

  std::string out = "DKIM-Signature: " + tags + text::base64_encode(text::bytes_of(signature.data(), signature.size())) + "\r\n";
  out.append(message);
  return out;
}

}  // namespace nurture::connectors
