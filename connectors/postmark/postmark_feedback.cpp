#include "connectors/postmark/postmark_feedback.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "text/encoding.hpp"

namespace nurture::connectors {

using namespace feedback;

FeedbackResult parse_postmark_webhook(const std::string& body, const Headers& headers, const std::string& user,
                                      const std::string& password, Clock::time_point now) {
  if (user.empty()) return refuse("no credentials configured (webhook_user_env, webhook_password_env)");
  const std::string authorization = header_of(headers, "authorization");
  const std::string credentials = user + ":" + password;
  if (!equal_in_constant_time(authorization, "Basic " + text::base64_encode(credentials))) return refuse("bad credentials");
  const json e = bounded_json(body);
  if (!e.is_object()) return malformed("the body is not a JSON object");
  const std::string record = text_of(e, "RecordType");
  static const char* const hard[] = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Blocked"};
  sdk::Feedback f;
  if (record == "Bounce" && std::find(std::begin(hard), std::end(hard), text_of(e, "Type")) != std::end(hard)) {
    f.type = "email.bounced";
    f.reason = fmt::format("{}: {}", text_of(e, "Type"), text_of(e, "Description"));
  } else if (record == "SpamComplaint") {
    f.type = "email.complained";
    f.reason = "spam complaint";
  } else {
    return std::vector<sdk::Feedback>{};
  }
  const json metadata = object_of(e, "Metadata");
  f.address = lower(text_of(e, "Email"));
  take_echoed_ids(f, metadata);
  f.event_id = "postmark:" + text_of(e, "ID");
  f.at = now;  // Postmark's own times are local and zone-less: the time of arrival is the better one
  return std::vector<sdk::Feedback>{f};
}

}  // namespace nurture::connectors
