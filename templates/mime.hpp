#pragma once
// RFC 5322 / MIME composition of a marketing email: multipart/alternative (text, then html), UTF-8,
// quoted-printable bodies (lines <= 76), RFC 2047 encoded headers, RFC 8058 one-click unsubscribe headers.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

#include "text/address.hpp"

namespace nurture::templates {

using text::Mailbox;
using text::parse_mailbox;  // strict: see text/address.hpp
using text::address_domain;

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
  bool test = false;                    // `nurture send-test`: an `X-Nurture-Test: yes` header
};

// The whole message with CRLF line ends, ready for SMTP DATA or an .eml file; an error when a mailbox does not
// parse (it would otherwise reach a header as it is).
tl::expected<std::string, std::string> compose_mime(const OutgoingEmail& email);

// `=?UTF-8?B?...?=` words (folded) when `text` is not printable ASCII or is long, else `text` unchanged. Broken
// UTF-8 is repaired and controls become spaces, so any text makes a safe header value.
std::string encode_header_text(std::string_view text);
std::string format_mailbox(const Mailbox& mailbox);
std::string quoted_printable(std::string_view text);
std::string rfc5322_date(std::chrono::system_clock::time_point time);

}  // namespace nurture::templates
