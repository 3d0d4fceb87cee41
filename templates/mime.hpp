#pragma once
// RFC 5322 / MIME composition of a marketing email: multipart/alternative (text, then html), UTF-8,
// quoted-printable bodies (lines <= 76), RFC 2047 encoded headers, RFC 8058 one-click unsubscribe headers.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nurture::templates {

struct Mailbox {
  std::string display_name;  // may be empty, may be UTF-8
  std::string address;       // local@domain
};

// Parses `Name <local@domain>`, `"Name" <local@domain>` or a bare `local@domain`.
std::optional<Mailbox> parse_mailbox(std::string_view text);

struct OutgoingEmail {
  std::string from;  // as configured: `Acme <hello@acme.example>`
  std::string to;
  std::string reply_to;  // optional
  std::string subject;
  std::string text;
  std::string html;
  std::string message_id;  // without angle brackets
  std::chrono::system_clock::time_point date;
  std::string list_unsubscribe_url;     // https URL; empty: no List-Unsubscribe headers
  std::string list_unsubscribe_mailto;  // optional mailto: address
};

// The whole message with CRLF line ends, ready for SMTP DATA or an .eml file.
std::string compose_mime(const OutgoingEmail& email);

// `=?UTF-8?B?...?=` words (folded) when `text` is not printable ASCII, else `text` unchanged.
std::string encode_header_text(std::string_view text);
std::string format_mailbox(const Mailbox& mailbox);
std::string quoted_printable(std::string_view text);
std::string rfc5322_date(std::chrono::system_clock::time_point time);
// The domain of an address (`a@b.example` -> `b.example`); `localhost` when there is none.
std::string address_domain(std::string_view address);

}  // namespace nurture::templates
