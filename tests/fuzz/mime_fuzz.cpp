// MIME composition: header text encoding, quoted-printable, and a whole message from hostile parts.
#include <chrono>

#include "templates/mime.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace nurture;

namespace {
void require_short_lines(const std::string& text, std::size_t limit, const char* what) {
  for (std::size_t start = 0; start < text.size();) {
    std::size_t end = text.find("\r\n", start);
    if (end == std::string::npos) end = text.size();
    fuzz::require(end - start <= limit, what);
    start = end + 2;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto p = fuzz::pieces<4>(fuzz::as_text(data, size));
  const std::string encoded = templates::encode_header_text(p[0]);
  for (std::size_t at = encoded.find('\n'); at != std::string::npos; at = encoded.find('\n', at + 1)) {
    fuzz::require(at > 0 && encoded[at - 1] == '\r' && at + 1 < encoded.size() && encoded[at + 1] == ' ',
                  "header text breaks lines only to fold");
  }
  require_short_lines(encoded, 998, "header lines are at most 998 characters");
  require_short_lines(templates::quoted_printable(p[1]), 76, "quoted-printable lines are at most 76 characters");
  templates::OutgoingEmail email;
  email.from = "Acme <hello@acme.example>";
  email.to = p[2];
  email.subject = p[0];
  email.text = p[1];
  email.html = p[3];
  email.message_id = "abc@acme.example";
  email.date = std::chrono::system_clock::time_point{};
  if (auto mime = templates::compose_mime(email)) {
    const std::string headers = mime->substr(0, mime->find("\r\n\r\n"));
    fuzz::require(headers.find("\nBcc") == std::string::npos && headers.find("\nbcc") == std::string::npos,
                  "no header can be injected");
    require_short_lines(*mime, 998, "message lines are at most 998 characters");
  }
  return 0;
}
