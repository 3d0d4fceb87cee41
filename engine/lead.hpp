#pragma once
// A lead as the interpreter sees it: a snapshot read from the store before a transition is computed.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/clock.hpp"

namespace nurture::engine {

enum class EnrollmentStatus : char { waiting = 'w', completed = 'c', exited = 'x' };

// One lead in one workflow. Stored packed in a single hash field (see pack()).
struct Enrollment {
  int version = 1;
  std::size_t step = 0;       // index of the current step (waiting) or of the last one run
  std::uint64_t seq = 0;      // bumped by every transition: the compare-and-set token and the timer's identity
  std::int64_t entered_ms = 0;
  EnrollmentStatus status = EnrollmentStatus::waiting;
  int number = 1;             // 1 for the first enrollment of this lead in this workflow, then 2, ...
  std::map<std::size_t, int> visits;  // step index -> times reached; kept only in workflows that can loop

  // `version,step,seq,entered_ms,status,number[,step:visits;...]`: short, so lead hashes stay listpacks.
  std::string pack() const;
  static std::optional<Enrollment> unpack(const std::string& text);
};

struct LeadSnapshot {
  std::string id;
  nlohmann::json attrs = nlohmann::json::object();
  std::map<std::string, Enrollment> enrollments;  // by workflow id
  std::string last_stream_id;                     // last front-door entry applied to this lead
};

}  // namespace nurture::engine
