#pragma once
// DKIM signing (RFC 6376), relaxed/relaxed canonicalisation, rsa-sha256 or ed25519-sha256 (RFC 8463) by the key's
// type. Signs From, To, Subject, Date, Message-ID, MIME headers and the RFC 8058 List-Unsubscribe pair (which
// RFC 8058 requires to be covered by a valid signature for one-click to count).

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "nurture/error.hpp"

namespace nurture::connectors {

class DkimSigner {
 public:
  // A PEM private key (RSA or Ed25519, PKCS#8 or traditional), or why it cannot be used.
  static Expected<std::unique_ptr<DkimSigner>> load(const std::filesystem::path& key_file, std::string selector,
                                                    std::string domain);
  ~DkimSigner();

  // The message (CRLF line ends, headers, empty line, body) with a DKIM-Signature header in front.
  std::string sign(std::string_view message, long long unix_time) const;

  const char* algorithm() const;  // "rsa-sha256" or "ed25519-sha256"

  // Canonicalisation, exposed for tests.
  static std::string relaxed_body(std::string_view body);
  static std::string relaxed_header(std::string_view name, std::string_view value);

 private:
  DkimSigner() = default;
  struct Key;
  std::unique_ptr<Key> key_;
  std::string selector_;
  std::string domain_;
};

}  // namespace nurture::connectors
