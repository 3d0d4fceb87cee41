#pragma once
// `type: null`: accepts every action at once and delivers nothing. For benchmarks and dry runs.

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {

sdk::ConnectorFactory null_connector_factory();

}  // namespace nurture::connectors
