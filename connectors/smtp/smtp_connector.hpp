#pragma once
// `type: smtp`: delivers the composed RFC 5322 message over SMTP with libcurl. A pool of `pool` connections, each
// kept open and reused across messages by its own worker; `send` only queues, so the dispatcher never waits on a
// slow server. STARTTLS (`tls: try|required|off`), AUTH from the environment, DKIM signing, timeouts. Replies are
// classified (4xx retry, 5xx failed, 5.1.1 suppressed).

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {

sdk::ConnectorFactory smtp_connector_factory();

// The class of an SMTP failure, by reply code and enhanced status text. Exposed for tests.
sdk::Result classify_smtp_reply(long reply_code, const std::string& reply_text);

}  // namespace nurture::connectors
