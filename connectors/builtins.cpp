#include "connectors/builtins.hpp"

#include "connectors/file/file_connector.hpp"
#include "connectors/mailgun/mailgun_connector.hpp"
#include "connectors/postmark/postmark_connector.hpp"
#include "connectors/sendgrid/sendgrid_connector.hpp"
#include "connectors/null/null_connector.hpp"
#include "connectors/smtp/smtp_connector.hpp"

namespace nurture::connectors {

void register_builtin_connectors(sdk::Registry& registry) {
  registry.add(file_connector_factory());
  registry.add(null_connector_factory());
  registry.add(smtp_connector_factory());
  registry.add(sendgrid_connector_factory());
  registry.add(mailgun_connector_factory());
  registry.add(postmark_connector_factory());
}

}  // namespace nurture::connectors
