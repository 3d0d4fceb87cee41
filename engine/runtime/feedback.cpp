#include "engine/runtime/feedback.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include "text/address.hpp"
#include "text/json.hpp"
#include "text/utf8.hpp"

namespace nurture::engine {

namespace {

tl::unexpected<FeedbackError> fail(std::string message) {
  return tl::unexpected(FeedbackError{FeedbackError::Kind::malformed, std::move(message)});
}
tl::unexpected<FeedbackError> refuse(std::string message) {
  return tl::unexpected(FeedbackError{FeedbackError::Kind::unauthorized, std::move(message)});
}

using json = nlohmann::json;
using Clock = std::chrono::system_clock;
constexpr auto replay_window = std::chrono::minutes(15);

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string header_of(const Headers& headers, const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string text_of(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return {};
  const json& value = object[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return {};
}

// A member that should be an object; anything else (missing, a string, a list) reads as empty.
json object_of(const json& parent, const char* key) {
  if (!parent.is_object()) return json::object();
  auto it = parent.find(key);
  return it != parent.end() && it->is_object() ? *it : json::object();
}

Clock::time_point from_unix_seconds(double seconds) {
  // Outside 1970..9999 (or NaN) a provider's timestamp is nonsense, and converting it would overflow.
  if (!(seconds >= 0 && seconds < 253402300800.0)) return Clock::time_point{};
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

// Webhook bodies are outside input: parsed within a size and depth (a provider's events are shallow).
json bounded_json(const std::string& body) {
  auto parsed = text::parse_json(body, {4 << 20, 16});
  return parsed ? std::move(*parsed) : json(json::value_t::discarded);
}

bool fresh(double timestamp, Clock::time_point now) {
  const auto at = from_unix_seconds(timestamp);
  return at > now - replay_window && at < now + replay_window;
}

std::vector<unsigned char> base64_decode(const std::string& text) {
  std::string clean;
  for (char c : text) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  }
  std::vector<unsigned char> out(clean.size() / 4 * 3 + 3);
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(clean.data()),
                                static_cast<int>(clean.size()));
  if (n < 0) return {};
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (!clean.empty() && clean.back() == '=') --size;
  if (clean.size() > 1 && clean[clean.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

std::string hex(const unsigned char* data, std::size_t size) {
  std::string out;
  for (std::size_t i = 0; i < size; ++i) out += fmt::format("{:02x}", data[i]);
  return out;
}

bool equal_in_constant_time(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool ecdsa_verifies(const std::string& public_key_base64, const std::string& data, const std::string& signature_base64) {
  const auto der = base64_decode(public_key_base64);
  const auto signature = base64_decode(signature_base64);
  if (der.empty() || signature.empty()) return false;
  const unsigned char* p = der.data();
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (!key) return false;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(context, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(context, signature.data(), signature.size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(context);
  EVP_PKEY_free(key);
  return ok;
}

// The action id of a Message-ID nurture wrote: <action_id@domain>.
std::string action_of_message_id(std::string message_id) {
  message_id.erase(std::remove_if(message_id.begin(), message_id.end(),
                                  [](char c) { return c == '<' || c == '>' || std::isspace(static_cast<unsigned char>(c)); }),
                   message_id.end());
  const auto at = message_id.find('@');
  return at == std::string::npos ? message_id : message_id.substr(0, at);
}

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


FeedbackResult read_sendgrid_webhook(const std::string& body, const Headers& headers,
                                                                        const std::string& public_key_base64,
                                                                        Clock::time_point now) {
  if (public_key_base64.empty()) return refuse("no verification key configured (webhook_public_key_env)");
  const std::string signature = header_of(headers, "x-twilio-email-event-webhook-signature");
  const std::string timestamp = header_of(headers, "x-twilio-email-event-webhook-timestamp");
  if (signature.empty() || timestamp.empty()) return refuse("unsigned request");
  if (!ecdsa_verifies(public_key_base64, timestamp + body, signature)) return refuse("bad signature");
  if (!fresh(std::atof(timestamp.c_str()), now)) return refuse("stale timestamp (replayed?)");
  const json events = bounded_json(body);
  if (!events.is_array()) return fail("the body is not a JSON array of events");
  std::vector<Feedback> out;
  for (const json& e : events) {
    const std::string event = text_of(e, "event");
    Feedback f;
    if (event == "bounce" && (text_of(e, "type").empty() || text_of(e, "type") == "bounce")) {
      f.type = "email.bounced";
      f.reason = fmt::format("{} {}", text_of(e, "status"), text_of(e, "reason"));
    } else if (event == "spamreport") {
      f.type = "email.complained";
      f.reason = "spam report";
    } else {
      continue;  // deliveries, opens, deferrals, soft blocks: not ours to act on
    }
    f.address = lower(text_of(e, "email"));
    f.action_id = text_of(e, "action_id");  // custom_args come back at the top level
    f.lead = text_of(e, "lead");
    f.workflow = text_of(e, "workflow");
    f.step = text_of(e, "step");
    f.event_id = "sendgrid:" + text_of(e, "sg_event_id");
    f.at = e.contains("timestamp") && e["timestamp"].is_number() ? from_unix_seconds(e["timestamp"].get<double>()) : now;
    out.push_back(std::move(f));
  }
  return out;
}

FeedbackResult read_mailgun_webhook(const std::string& body,
                                                                       const std::string& signing_key,
                                                                       Clock::time_point now) {
  if (signing_key.empty()) return refuse("no signing key configured (webhook_signing_key_env)");
  const json payload = bounded_json(body);
  if (!payload.is_object() || !payload.contains("signature") || !payload.contains("event-data")) {
    return fail("expected {\"signature\":…, \"event-data\":…}");
  }
  const json& signature = payload["signature"];
  const std::string timestamp = text_of(signature, "timestamp");
  const std::string token = text_of(signature, "token");
  const std::string data = timestamp + token;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), signing_key.data(), static_cast<int>(signing_key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  if (!equal_in_constant_time(hex(digest, length), lower(text_of(signature, "signature")))) {
    return refuse("bad signature");
  }
  if (!fresh(std::atof(timestamp.c_str()), now)) return refuse("stale timestamp (replayed?)");
  const json& e = payload["event-data"];
  const std::string event = text_of(e, "event");
  Feedback f;
  if (event == "failed" && text_of(e, "severity") == "permanent") {
    f.type = "email.bounced";
    const json status = object_of(e, "delivery-status");
    f.reason = fmt::format("{} {}", text_of(status, "code"), text_of(status, "message"));
  } else if (event == "complained") {
    f.type = "email.complained";
    f.reason = "complaint";
  } else {
    return std::vector<Feedback>{};
  }
  const json variables = object_of(e, "user-variables");
  f.address = lower(text_of(e, "recipient"));
  f.action_id = text_of(variables, "action_id");
  f.lead = text_of(variables, "lead");
  f.workflow = text_of(variables, "workflow");
  f.step = text_of(variables, "step");
  f.event_id = "mailgun:" + text_of(e, "id");
  f.at = e.contains("timestamp") && e["timestamp"].is_number() ? from_unix_seconds(e["timestamp"].get<double>()) : now;
  return std::vector<Feedback>{f};
}

FeedbackResult read_postmark_webhook(const std::string& body, const Headers& headers,
                                                                        const std::string& user,
                                                                        const std::string& password) {
  if (user.empty()) return refuse("no credentials configured (webhook_user_env, webhook_password_env)");
  const std::string authorization = header_of(headers, "authorization");
  const std::string credentials = user + ":" + password;
  std::string expected(4 * ((credentials.size() + 2) / 3) + 1, '\0');
  expected.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(expected.data()),
                                                           reinterpret_cast<const unsigned char*>(credentials.data()),
                                                           static_cast<int>(credentials.size()))));
  if (!equal_in_constant_time(authorization, "Basic " + expected)) return refuse("bad credentials");
  const json e = bounded_json(body);
  if (!e.is_object()) return fail("the body is not a JSON object");
  const std::string record = text_of(e, "RecordType");
  static const char* const hard[] = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Blocked"};
  Feedback f;
  if (record == "Bounce" && std::find(std::begin(hard), std::end(hard), text_of(e, "Type")) != std::end(hard)) {
    f.type = "email.bounced";
    f.reason = fmt::format("{}: {}", text_of(e, "Type"), text_of(e, "Description"));
  } else if (record == "SpamComplaint") {
    f.type = "email.complained";
    f.reason = "spam complaint";
  } else {
    return std::vector<Feedback>{};
  }
  const json metadata = object_of(e, "Metadata");
  f.address = lower(text_of(e, "Email"));
  f.action_id = text_of(metadata, "action_id");
  f.lead = text_of(metadata, "lead");
  f.workflow = text_of(metadata, "workflow");
  f.step = text_of(metadata, "step");
  f.event_id = "postmark:" + text_of(e, "ID");
  f.at = Clock::now();
  return std::vector<Feedback>{f};
}

FeedbackResult read_report_message(const std::string& message) {
  const Part entity = split_entity(message);
  const std::string content_type = lower(header_of(entity.headers, "content-type"));
  if (content_type.rfind("multipart/report", 0) != 0) {
    return fail("not a report (expected Content-Type: multipart/report)");
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
  std::vector<Feedback> out;
  if (report_type == "delivery-status") {
    if (status_blocks.empty()) return fail("a delivery-status report without a message/delivery-status part");
    const std::string envelope_id = header_of(status_blocks.front(), "original-envelope-id");
    for (std::size_t i = 1; i < status_blocks.size(); ++i) {
      const Headers& recipient = status_blocks[i];
      const std::string status = header_of(recipient, "status");
      if (lower(header_of(recipient, "action")) != "failed" || status.empty() || status[0] != '5') continue;
      Feedback f;
      f.type = "email.bounced";
      f.address = typed_address(header_of(recipient, "final-recipient"));
      f.action_id = action_id;
      std::string diagnostic = header_of(recipient, "diagnostic-code");
      if (const auto semicolon = diagnostic.find(';'); semicolon != std::string::npos) diagnostic.erase(0, semicolon + 1);
      diagnostic.erase(0, diagnostic.find_first_not_of(' ') == std::string::npos ? diagnostic.size()
                                                                                   : diagnostic.find_first_not_of(' '));
      f.reason = diagnostic.empty() ? status : status + " " + diagnostic;
      f.event_id = fmt::format("dsn:{}:{}", action_id.empty() ? envelope_id : action_id, f.address);
      f.at = Clock::now();
      out.push_back(std::move(f));
    }
    return out;
  }
  if (report_type == "feedback-report") {
    if (lower(header_of(feedback_report, "feedback-type")) != "abuse") return out;
    Feedback f;
    f.type = "email.complained";
    f.address = typed_address(header_of(feedback_report, "original-rcpt-to"));
    f.action_id = action_id;
    f.reason = "abuse report";
    f.event_id = fmt::format("arf:{}:{}", action_id, f.address);
    f.at = Clock::now();
    out.push_back(std::move(f));
    return out;
  }
  return fail(fmt::format("report-type \"{}\" is neither delivery-status nor feedback-report", report_type));
}

// What a report says reaches events and logs as valid UTF-8, whatever the provider or MTA wrote (a Latin-1
// Diagnostic-Code); an address that does not parse is not one to suppress (the report still reaches its lead).
FeedbackResult sanitized(FeedbackResult result) {
  if (!result) return result;
  std::vector<Feedback> kept;
  for (auto& f : *result) {
    for (std::string* field : {&f.type, &f.action_id, &f.lead, &f.workflow, &f.step, &f.reason, &f.event_id}) {
      *field = text::to_valid_utf8(text::truncate_utf8(*field, 2000));
    }
    if (!f.address.empty()) {
      auto address = text::parse_address(f.address);
      f.address = address ? *address : std::string();  // the lead may still hear of it; no address is suppressed
    }
    kept.push_back(std::move(f));
  }
  return kept;
}

}  // namespace

FeedbackResult parse_sendgrid_webhook(const std::string& body, const Headers& headers,
                                      const std::string& public_key_base64, Clock::time_point now) {
  return sanitized(read_sendgrid_webhook(body, headers, public_key_base64, now));
}

FeedbackResult parse_mailgun_webhook(const std::string& body, const std::string& signing_key, Clock::time_point now) {
  return sanitized(read_mailgun_webhook(body, signing_key, now));
}

FeedbackResult parse_postmark_webhook(const std::string& body, const Headers& headers, const std::string& user,
                                      const std::string& password) {
  return sanitized(read_postmark_webhook(body, headers, user, password));
}

FeedbackResult parse_report_message(const std::string& message) { return sanitized(read_report_message(message)); }

}  // namespace nurture::engine
