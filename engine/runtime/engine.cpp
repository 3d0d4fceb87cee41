#include "engine/runtime/engine.hpp"

#include <spdlog/spdlog.h>

namespace nurture::engine {

void Engine::report_takeover(const char* what, int count) {
  if (count > 0) spdlog::warn("took over {} {} that a silent engine held past its lease", count, what);
}

}  // namespace nurture::engine
