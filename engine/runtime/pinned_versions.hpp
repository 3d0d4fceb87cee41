#pragma once
// The versions a running engine serves: today's campaign pinned in the store beside what enrollments still use.

#include "engine/core/workflow_versions.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

// Pins every workflow of the campaign in the store (a changed file becomes a new version) and loads the versions
// enrollments may still be pinned to. An old version that no longer parses is left out, with a warning.
WorkflowVersions pin_versions(Store& store, const workflows::Campaign& campaign);

}  // namespace nurture::engine
