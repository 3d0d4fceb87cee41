// Mail addresses and mailboxes, as they enter (attributes, imports) and leave (headers, SMTP envelope).
#include "templates/mime.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "text/address.hpp"
#include "text/utf8.hpp"

using namespace nurture;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  if (auto address = text::parse_address(input)) {
    fuzz::require(!text::has_control(*address), "an address holds no control character");
    fuzz::require(address->find_first_of(" <>") == std::string::npos || address->front() == '"',
                  "an unquoted address holds no space or bracket");
    fuzz::require(address->size() <= 254, "an address is at most 254 bytes");
  }
  if (auto mailbox = text::parse_mailbox(input)) {
    fuzz::require(!text::has_control(mailbox->display_name), "a display name holds no control character");
    const std::string formatted = templates::format_mailbox(*mailbox);
    fuzz::require(formatted.find('\n') == std::string::npos || formatted.find("\r\n ") != std::string::npos,
                  "a formatted mailbox breaks lines only to fold");
    auto again = text::parse_mailbox(mailbox->display_name.empty() ? mailbox->address
                                                                   : "<" + mailbox->address + ">");
    fuzz::require(again.has_value(), "a parsed address parses again");
  }
  return 0;
}
