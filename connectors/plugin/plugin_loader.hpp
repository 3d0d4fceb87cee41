#pragma once
// `type: plugin`: a connector in a shared library speaking the C ABI of <nurture/sdk/plugin.h>. The library stays
// loaded for the life of the process (instances and in-flight completions may point into it).

#include <filesystem>
#include <optional>
#include <string>

#include "nurture/error.hpp"
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors {

// The plugin's factory (its type, doc and declared keys; create goes through the C ABI), or what is wrong with the
// file, and the fix: no such file, not a shared library, no `nurture_connector_v1`, an ABI version we do not know.
Expected<sdk::ConnectorFactory> load_connector_plugin(const std::filesystem::path& path);

}  // namespace nurture::connectors
