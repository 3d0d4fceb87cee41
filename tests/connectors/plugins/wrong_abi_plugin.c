/* A test plugin from a future nurture: ABI version 99. */
#include <nurture/sdk/plugin.h>

static const nurture_connector_v1_t table = {99, "future", "", 0, 0, 0, 0, 0, 0, 0};

__attribute__((visibility("default"))) const nurture_connector_v1_t* nurture_connector_v1(void) { return &table; }
