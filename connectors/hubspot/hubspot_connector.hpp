#pragma once
// `type: hubspot`: the CRM hand-off. Upserts the contact by email (POST /crm/v3/objects/contacts/batch/upsert;
// a `handoff` step also sets lifecyclestage to marketingqualifiedlead), then records a note on it with the score,
// stage, note and recent activity (POST /crm/v3/objects/notes, associated to the contact), naming the action id.
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {
sdk::ConnectorFactory hubspot_connector_factory();
}
