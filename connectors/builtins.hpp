#pragma once
// The connectors that ship with nurture. The daemon registers them explicitly; the engine never names one.

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {

void register_builtin_connectors(sdk::Registry& registry);

}  // namespace nurture::connectors
