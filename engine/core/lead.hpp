#pragma once
// A lead as the interpreter sees it: a snapshot read from the store before a transition is computed, and the
// state the transition leaves behind.

#include <cstdint>
#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/clock.hpp"

namespace nurture::engine {

enum class EnrollmentStatus : char {
  waiting = 'w',    // on a timer: wait, wait_until
  waiting_for = 'f',  // wait_for: on an event, with a timeout timer
  deferred = 'd',   // a delivery step outside the send window, on a timer for the next opening
  completed = 'c',
  exited = 'x',
};

// One lead in one workflow. Stored packed in a single hash field (see pack()).
struct Enrollment {
  int version = 1;
  std::size_t step = 0;       // index of the step it waits at (or of the last one run)
  std::uint64_t seq = 0;      // bumped at every move: a timer carries it, and a stale timer is a no-op
  std::int64_t entered_ms = 0;
  EnrollmentStatus status = EnrollmentStatus::waiting;
  int number = 1;             // 1 for the first enrollment of this lead in this workflow, then 2, ...
  std::map<std::size_t, int> visits;  // step index -> times reached; kept only in workflows that can loop
  // The arm taken at each split step passed (step id -> arm index): what is sent, opened, clicked and reached as a
  // goal afterwards is counted for that arm too (`nurture report`'s A/B results).
  std::map<std::string, int> arms;

  bool active() const { return status != EnrollmentStatus::completed && status != EnrollmentStatus::exited; }
  int visit_of(std::size_t step_index) const;

  // `version,step,seq,~entered_ms,status,number[,step:visits;...[,split:arm;...]]`, entered_ms in base 36: short,
  // so lead hashes stay small listpacks.
  std::string pack() const;
  static std::optional<Enrollment> unpack(const std::string& text);
  // The arms as planned actions carry them: `split:arm;...`, "" for none.
  std::string arms_text() const;
  bool operator==(const Enrollment&) const = default;
};

// Each `split:arm` item of an arms text (Enrollment::arms_text), in order.
template <typename Visit>
void for_each_arm(std::string_view arms_text, Visit visit) {
  for (std::size_t start = 0; start < arms_text.size();) {
    const std::size_t end = std::min(arms_text.find(';', start), arms_text.size());
    visit(arms_text.substr(start, end - start));
    start = end + 1;
  }
}

// An event kept for conditions that look back (`event: T, within: 7d`): only types that some condition names,
// only the props conditions name, the last 50 per lead.
struct HistoryEntry {
  std::string type;
  std::int64_t at_ms = 0;
  std::string workflow;
  std::string step;
  std::string action_id;
  nlohmann::json props = nlohmann::json::object();
  bool operator==(const HistoryEntry&) const = default;
};

// Points a scoring rule gave (the last 20 per lead): the hand-off tells sales why the lead qualified, with the
// event that earned them and its props (a click's URL, say).
struct ScoreEntry {
  std::string rule;  // `event:demo.requested`, `attr:job_title`
  double points = 0;
  std::int64_t at_ms = 0;
  std::string event;  // the event's type; "" for an attribute rule
  nlohmann::json props = nlohmann::json::object();
  bool operator==(const ScoreEntry&) const = default;
};

// A score as people and the CRM see it: one decimal, cut toward zero rather than rounded, so a lead a hair under a
// stage's threshold (decay) never shows as having reached it (49.96 shows as 49.9, not 50).
double score_shown(double score);

struct LeadSnapshot {
  std::string id;
  std::uint64_t version = 0;  // bumped by every commit: the compare-and-set token; 0 = not stored yet
  nlohmann::json attrs = nlohmann::json::object();
  double score = 0;
  std::int64_t score_at_ms = 0;  // when `score` was last decayed to
  std::string stage;
  std::set<std::string> tags;
  std::set<std::string> suppressed;          // channels: email, social
  std::set<std::string> attr_rules_scored;   // attribute rules count once per lead
  std::vector<ScoreEntry> score_log;          // what scored, newest last
  // The last email or post sent to it (only kept when nurture.yaml sets `attribution`): revenue goes there.
  struct Touch {
    std::string workflow, step, arms;  // arms: the split arms it had taken (Enrollment::arms_text)
    std::int64_t at_ms = 0;
    bool operator==(const Touch&) const = default;
  };
  std::optional<Touch> last_touch;
  // The stages it moved to and when, newest last (the last 10): `lead show` tells how it got where it is.
  std::vector<std::pair<std::string, std::int64_t>> stage_history;
  std::vector<HistoryEntry> history;
  std::map<std::string, long> counts;        // per named event type, for `count` without `within`
  // When sends were planned, per channel, within the config's frequency_cap window (only kept when a cap is set).
  std::map<std::string, std::vector<std::int64_t>> recent_sends_ms;
  std::map<std::string, Enrollment> enrollments;  // by workflow id
  std::string last_stream_id;                     // last front-door entry applied to this lead
  std::string last_inbox_id;                      // last entry of its partition's inbox applied to it
  std::set<std::string> segments;                 // the segments (segments.yaml) it was in after its last change
  std::int64_t segments_check_ms = 0;             // when a `within` window in a segment next expires for it; 0: never
  // The broadcasts it was given (broadcasts/*.yaml), each with the variant it got (-1: none, no split): a broadcast
  // reaches a lead at most once, whatever restarts, reloads or engines there are.
  std::map<std::string, int> broadcasts;
};

}  // namespace nurture::engine
