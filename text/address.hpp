#pragma once
// Mail addresses, parsed strictly where they enter (events, imports, the admin API, configuration) and again where
// they leave (SMTP envelope, headers): an address is RFC 5321's Mailbox (dot-atom or quoted local part, LDH domain
// or address literal; UTF-8 allowed as RFC 6531 does), at most 64 bytes before the @ and 254 in all. A CR, LF or
// other control can never be part of one, so nothing parsed here can inject a header or an SMTP command.

#include <optional>
#include <string>
#include <string_view>

namespace nurture::text {

// The address itself when `text` is one (surrounding spaces trimmed), else nullopt.
std::optional<std::string> parse_address(std::string_view text);

struct Mailbox {
  std::string display_name;  // may be empty, may be UTF-8; never holds a control character
  std::string address;       // as parse_address returns it
};

// `Name <local@domain>`, `"Name" <local@domain>` or a bare `local@domain`; nullopt for anything else.
std::optional<Mailbox> parse_mailbox(std::string_view text);

// How suppression lists hold an address: the bare address in lower case (`Ana <Ana@Example.com>` ->
// `ana@example.com`), so that a bounce, an unsubscribe and a send agree whatever the case each was written in.
// Text that is no address is only trimmed and lower-cased.
std::string address_key(std::string_view text);

// An erased lead's address as its suppression list keeps it: `sha256:` and the hex SHA-256 of address_key(), so
// the address is recognised again (and not mailed unknowingly) without being kept.
std::string address_hash(std::string_view text);
// The same from a key address_key() made: for a caller that needs both, without reading the address twice.
std::string hash_of_address_key(std::string_view key);

// An address as logs show it: the first character of the local part and the domain (`ana@example.com` ->
// `a***@example.com`), enough to tell messages apart without keeping whom they went to.
std::string masked_address(std::string_view text);

// The domain of an address (`a@b.example` -> `b.example`); `localhost` when there is none.
std::string address_domain(std::string_view address);

}  // namespace nurture::text
