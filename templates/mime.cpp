// Composition follows RFC 5322 (headers, dates), RFC 2045/2046 (MIME, quoted-printable, multipart), RFC 2047
// (encoded words) and RFC 8058 (List-Unsubscribe-Post). The boundary starts with "=_", which quoted-printable
// output can never contain, so it cannot collide with a body.

#include "templates/mime.hpp"
#include "text/encoding.hpp"

#include <ctime>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "text/utf8.hpp"

namespace nurture::templates {

namespace {

// Longer plain text would make a header line past RFC 5322's 998 characters: it is folded as encoded words.
constexpr std::size_t max_plain_header_text = 900;
constexpr std::size_t max_plain_display_name = 200;

bool is_printable_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Normalises line ends to CRLF.

}  // namespace

std::string encode_header_text(std::string_view raw) {
  // Whatever the text, a header gets valid UTF-8 on one logical line: controls (CR and LF above all) become spaces.
  std::string text = text::to_valid_utf8(raw);
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (is_printable_ascii(text) && text.size() <= max_plain_header_text) return text;
  // Each encoded word holds at most 45 bytes (60 base64 chars + 12 of framing < 75), split on UTF-8 boundaries.
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = std::min(text.size(), pos + 45);
    while (end < text.size() && end > pos && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    if (end == pos) end = std::min(text.size(), pos + 45);  // cannot happen in valid UTF-8; never loop on it
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + text::base64_encode(std::string_view(text).substr(pos, end - pos)) + "?=";
    pos = end;
  }
  return out;
}

std::string format_mailbox(const Mailbox& mailbox) {
  if (mailbox.display_name.empty()) return mailbox.address;
  std::string name;
  if (!is_printable_ascii(mailbox.display_name) || mailbox.display_name.size() > max_plain_display_name) {
    name = encode_header_text(mailbox.display_name);
  } else if (mailbox.display_name.find_first_of("()<>[]:;@\\,.\"") != std::string::npos) {
    name = "\"";
    for (char c : mailbox.display_name) {
      if (c == '"' || c == '\\') name += '\\';
      name += c;
    }
    name += "\"";
  } else {
    name = mailbox.display_name;
  }
  return name + " <" + mailbox.address + ">";
}

// Line breaks become CRLF (a lone CR is dropped), lines are soft-broken before 76 characters, and what is not
// plain printable ASCII is =XX: trailing white space, "=", and a "." starting a line (never a lone "." line in SMTP
// DATA). One pass, no copy of the input; this runs for both parts of every email sent.
namespace {
// The most quoted-printable makes of `size` bytes: each byte becomes at most three, plus a three-byte soft break
// at most every 73 written.
std::size_t quoted_printable_bound(std::size_t size) { return 3 * size + 3 * (3 * size / 73 + 1); }

void append_quoted_printable(std::string& out, std::string_view text) {
  static const char hex[] = "0123456789ABCDEF";
  // Written through a pointer into room made up front: this runs for both parts of every email sent.
  const std::size_t size = text.size();
  const std::size_t start = out.size();
  out.resize(start + quoted_printable_bound(size));
  char* p = out.data() + start;
  std::size_t line_length = 0;
  auto make_room = [&](std::size_t width) {
    if (line_length + width > 75) {  // room for the soft break's "="
      *p++ = '=';
      *p++ = '\r';
      *p++ = '\n';
      line_length = 0;
    }
  };
  for (std::size_t i = 0; i < size; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r') continue;
    if (c == '\n') {
      *p++ = '\r';
      *p++ = '\n';
      line_length = 0;
      continue;
    }
    bool plain = c >= 33 && c <= 126 && c != '=' && !(c == '.' && line_length == 0);
    if (c == ' ' || c == '\t') {
      std::size_t next = i + 1;
      while (next < size && text[next] == '\r') ++next;
      plain = next < size && text[next] != '\n';  // not at the end of a line: stays as it is
    }
    if (plain) {
      make_room(1);
      *p++ = static_cast<char>(c);
      ++line_length;
      continue;
    }
    make_room(3);
    *p++ = '=';
    *p++ = hex[c >> 4];
    *p++ = hex[c & 0x0f];
    line_length += 3;
  }
  out.resize(static_cast<std::size_t>(p - out.data()));
}
}  // namespace

std::string quoted_printable(std::string_view text) {
  std::string out;
  append_quoted_printable(out, text);
  return out;
}

std::string rfc5322_date(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  // Every email of a second carries the same Date: formatted once per second and thread.
  thread_local std::time_t last = -1;
  thread_local std::string formatted;
  if (t == last) return formatted;
  std::tm utc{};
  gmtime_r(&t, &utc);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  formatted = fmt::format("{}, {:02d} {} {} {:02d}:{:02d}:{:02d} +0000", days[utc.tm_wday], utc.tm_mday,
                          months[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
  last = t;
  return formatted;
}

namespace {
// A mailbox as its header shows it, or why it cannot be one.
tl::expected<std::string, std::string> header_mailbox(const std::string& value, const char* header) {
  auto parsed = parse_mailbox(value);
  if (!parsed) {
    return tl::unexpected(fmt::format("{} \"{}\" is not a mail address", header,
                                      text::to_valid_utf8(text::truncate_utf8(value, 200))));
  }
  return format_mailbox(*parsed);
}

// The sender's mailboxes are the same on every send of a campaign: each thread keeps the last it formatted (the
// result depends on the text alone), so only the recipient is parsed per message.
struct RememberedMailbox {
  std::optional<std::string> value;  // none yet
  tl::expected<std::string, std::string> formatted;
};
const tl::expected<std::string, std::string>& sender_mailbox(RememberedMailbox& last, const std::string& value,
                                                             const char* header) {
  if (last.value != value) {
    last.formatted = header_mailbox(value, header);
    last.value = value;
  }
  return last.formatted;
}
}  // namespace

tl::expected<std::string, std::string> compose_mime(const OutgoingEmail& email) {
  // Every mailbox is parsed here, where it leaves: nothing unparsed reaches a header.
  thread_local RememberedMailbox last_from, last_reply_to;
  const auto& from = sender_mailbox(last_from, email.from, "From");
  if (!from) return tl::unexpected(from.error());
  const auto to = header_mailbox(email.to, "To");
  if (!to) return tl::unexpected(to.error());
  std::string reply_to;
  if (!email.reply_to.empty()) {
    const auto& formatted = sender_mailbox(last_reply_to, email.reply_to, "Reply-To");
    if (!formatted) return tl::unexpected(formatted.error());
    reply_to = *formatted;
  }
  const std::string boundary = "=_nurture_" + email.message_id.substr(0, email.message_id.find('@'));
  std::string out;
  // Room for the headers and for both parts' worst case quoted-printable (see append_quoted_printable): one
  // allocation for the whole message.
  out.reserve(2048 + 4 * email.subject.size() + email.list_unsubscribe_url.size() +
              quoted_printable_bound(email.text.size()) + quoted_printable_bound(email.html.size()));
  auto header = [&out](std::string_view name, std::string_view value) {
    out.append(name).append(": ").append(value).append("\r\n");
  };
  header("From", *from);
  header("To", *to);
  if (!reply_to.empty()) header("Reply-To", reply_to);
  header("Subject", encode_header_text(email.subject));
  header("Date", rfc5322_date(email.date));
  out.append("Message-ID: <").append(email.message_id).append(">\r\n");
  if (email.test) out += "X-Nurture-Test: yes\r\n";
  if (!email.list_unsubscribe_url.empty()) {
    out.append("List-Unsubscribe: <").append(email.list_unsubscribe_url).append(">");
    if (!email.list_unsubscribe_mailto.empty()) {
      out.append(",\r\n <mailto:").append(email.list_unsubscribe_mailto).append(">");
    }
    out += "\r\n";
    out += "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n";
  }
  out += "MIME-Version: 1.0\r\n";
  out.append("Content-Type: multipart/alternative; boundary=\"").append(boundary).append("\"\r\n");
  out += "\r\n";
  out.append("--").append(boundary).append("\r\n");
  out += "Content-Type: text/plain; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  append_quoted_printable(out, email.text);
  out += "\r\n";
  out.append("--").append(boundary).append("\r\n");
  out += "Content-Type: text/html; charset=UTF-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  append_quoted_printable(out, email.html);
  out += "\r\n";
  out.append("--").append(boundary).append("--\r\n");
  return out;
}

}  // namespace nurture::templates
