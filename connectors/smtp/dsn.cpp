#include "connectors/smtp/dsn.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace nurture::connectors {

using namespace feedback;

namespace {

// ---- MIME, just enough for reports: headers, multipart bodies, field blocks. ----

struct Part {
  Headers headers;
  std::string body;
};

// Header block (unfolded) and body of an entity; line ends may be CRLF or LF.
Part split_entity(const std::string& text) {
  Part part;
  std::size_t pos = 0;
  std::string current_name;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    std::string line = text.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = eol + 1;
    if (line.empty()) break;
    if ((line[0] == ' ' || line[0] == '\t') && !current_name.empty()) {
      const auto text = line.find_first_not_of(" \t");  // a continuation of blanks alone adds nothing
      if (text != std::string::npos) part.headers[current_name] += " " + line.substr(text);
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    current_name = lower(line.substr(0, colon));
    std::string value = line.substr(colon + 1);
    const auto begin = value.find_first_not_of(" \t");
    part.headers[current_name] = begin == std::string::npos ? "" : value.substr(begin);
  }
  part.body = pos < text.size() ? text.substr(pos) : "";
  return part;
}

// A parameter of a structured header: boundary="x" -> x.
std::string parameter(const std::string& header, const std::string& name) {
  const std::string lowered = lower(header);
  std::size_t at = lowered.find(name + "=");
  if (at == std::string::npos) return {};
  at += name.size() + 1;
  if (at < header.size() && header[at] == '"') {
    const auto end = header.find('"', at + 1);
    return header.substr(at + 1, end == std::string::npos ? std::string::npos : end - at - 1);
  }
  const auto end = header.find_first_of("; \t", at);
  return header.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::vector<Part> multipart_parts(const Part& entity) {
  const std::string boundary = parameter(header_of(entity.headers, "content-type"), "boundary");
  std::vector<Part> parts;
  if (boundary.empty()) return parts;
  const std::string delimiter = "--" + boundary;
  std::size_t pos = entity.body.find(delimiter);
  while (pos != std::string::npos) {
    pos += delimiter.size();
    if (entity.body.compare(pos, 2, "--") == 0) break;  // the closing delimiter
    pos = entity.body.find('\n', pos);
    if (pos == std::string::npos) break;
    ++pos;
    const std::size_t next = entity.body.find(delimiter, pos);
    parts.push_back(split_entity(entity.body.substr(pos, next == std::string::npos ? std::string::npos : next - pos)));
    pos = next;
  }
  return parts;
}

// message/delivery-status: blocks of fields separated by empty lines (per-message, then one per recipient).
std::vector<Headers> field_blocks(const std::string& body) {
  std::vector<Headers> blocks;
  std::string rest = body;
  while (!rest.empty()) {
    Part block = split_entity(rest);
    if (!block.headers.empty()) blocks.push_back(block.headers);
    if (block.body.size() >= rest.size()) break;
    rest = block.body;
    while (!rest.empty() && (rest[0] == '\n' || rest[0] == '\r')) rest.erase(0, 1);
  }
  return blocks;
}

// "rfc822; ana@example.com" -> ana@example.com
std::string typed_address(const std::string& value) {
  const auto semicolon = value.find(';');
  std::string address = semicolon == std::string::npos ? value : value.substr(semicolon + 1);
  address.erase(std::remove_if(address.begin(), address.end(),
                               [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '<' || c == '>'; }),
                address.end());
  return lower(address);
}

}  // namespace

FeedbackResult parse_report_message(const std::string& message, Clock::time_point now) {
  const Part entity = split_entity(message);
  const std::string content_type = lower(header_of(entity.headers, "content-type"));
  if (content_type.rfind("multipart/report", 0) != 0) {
    return malformed("not a report (expected Content-Type: multipart/report)");
  }
  const std::string report_type = lower(parameter(content_type, "report-type"));
  std::string original_message_id;
  std::vector<Headers> status_blocks;
  Headers feedback_report;
  for (const Part& part : multipart_parts(entity)) {
    const std::string type = lower(header_of(part.headers, "content-type"));
    if (type.rfind("message/delivery-status", 0) == 0) {
      status_blocks = field_blocks(part.body);
    } else if (type.rfind("message/feedback-report", 0) == 0) {
      feedback_report = split_entity(part.body).headers;
    } else if (type.rfind("text/rfc822-headers", 0) == 0 || type.rfind("message/rfc822", 0) == 0) {
      original_message_id = header_of(split_entity(part.body).headers, "message-id");
    }
  }
  const std::string action_id = action_of_message_id(original_message_id);
  std::vector<sdk::Feedback> out;
  if (report_type == "delivery-status") {
    if (status_blocks.empty()) return malformed("a delivery-status report without a message/delivery-status part");
    const std::string envelope_id = header_of(status_blocks.front(), "original-envelope-id");
    for (std::size_t i = 1; i < status_blocks.size(); ++i) {
      const Headers& recipient = status_blocks[i];
      const std::string status = header_of(recipient, "status");
      if (lower(header_of(recipient, "action")) != "failed" || status.empty() || status[0] != '5') continue;
      sdk::Feedback f;
      f.type = "email.bounced";
      f.address = typed_address(header_of(recipient, "final-recipient"));
      f.action_id = action_id;
      std::string diagnostic = header_of(recipient, "diagnostic-code");
      if (const auto semicolon = diagnostic.find(';'); semicolon != std::string::npos) diagnostic.erase(0, semicolon + 1);
      diagnostic.erase(0, diagnostic.find_first_not_of(' ') == std::string::npos ? diagnostic.size()
                                                                                   : diagnostic.find_first_not_of(' '));
      f.reason = diagnostic.empty() ? status : status + " " + diagnostic;
      f.event_id = fmt::format("dsn:{}:{}", action_id.empty() ? envelope_id : action_id, f.address);
      f.at = now;
      out.push_back(std::move(f));
    }
    return out;
  }
  if (report_type == "feedback-report") {
    if (lower(header_of(feedback_report, "feedback-type")) != "abuse") return out;
    sdk::Feedback f;
    f.type = "email.complained";
    f.address = typed_address(header_of(feedback_report, "original-rcpt-to"));
    f.action_id = action_id;
    f.reason = "abuse report";
    f.event_id = fmt::format("arf:{}:{}", action_id, f.address);
    f.at = now;
    out.push_back(std::move(f));
    return out;
  }
  return malformed(fmt::format("report-type \"{}\" is neither delivery-status nor feedback-report", report_type));
}

}  // namespace nurture::connectors
