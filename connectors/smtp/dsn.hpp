#pragma once
// A mail server's report about a message it could not deliver: a delivery status notification (RFC 3464,
// multipart/report; report-type=delivery-status) or an abuse report (RFC 5965 ARF, report-type=feedback-report).
// The action id comes from the original Message-ID (<action_id@domain>, as nurture writes it). `nurture dsn` reads
// them (piped from the bounce address's alias).

#include <string>

#include "connectors/feedback/feedback_support.hpp"

namespace nurture::connectors {

// Reports are stamped `now`: the time they are read.
feedback::FeedbackResult parse_report_message(const std::string& message, feedback::Clock::time_point now);

}  // namespace nurture::connectors
