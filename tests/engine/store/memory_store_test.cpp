// What only the memory store has: a decision made on the stored lead itself (the simulation's path).

#include <doctest/doctest.h>

#include "engine/store/memory/memory_store.hpp"

using namespace nurture::engine;
using namespace std::chrono;

namespace {

const TimePoint t0 = sys_days{year{2026} / March / 2} + hours(8);

// A decision that counts one more visit in an attribute and arms a timer.
Transition visit(LeadSnapshot&& lead) {
  Transition t;
  t.expected_version = lead.version;
  t.lead = std::move(lead);
  auto& visits = t.lead.attrs["visits"];
  visits = visits.is_number() ? visits.get<int>() + 1 : 1;
  t.timers_to_add.push_back({TimerRef{t.lead.id, "welcome", static_cast<std::uint64_t>(t.lead.version + 1)},
                             t0 + hours(1)});
  return t;
}

}  // namespace

TEST_CASE("memory store: a decision in place is given the stored lead and its transition is committed") {
  VirtualClock clock{t0};
  memory::MemoryStore store{clock, memory::MemoryStoreOptions{1, "test", hours(24)}};
  LeadSnapshot seen;
  const auto decide = [&](LeadSnapshot&& lead) {
    seen = lead;
    return visit(std::move(lead));
  };
  REQUIRE(store.decide_and_commit("L1", decide) == CommitOutcome::committed);
  CHECK(seen.id == "L1");  // never stored: a new lead with the id
  CHECK(seen.version == 0);
  REQUIRE(store.decide_and_commit("L1", decide) == CommitOutcome::committed);
  CHECK(seen.version == 1);
  CHECK(seen.attrs["visits"] == 1);  // the first decision's lead, as committed
  const LeadSnapshot stored = store.load_lead("L1");
  CHECK(stored.id == "L1");
  CHECK(stored.version == 2);
  CHECK(stored.attrs["visits"] == 2);
  const auto due = store.due_timers(t0 + hours(1), 10);
  REQUIRE(due.size() == 2);  // each decision armed its own timer
  CHECK(due[1].seq == 2);
}

TEST_CASE("memory store: a decision in place from a stale version is refused and commits nothing") {
  VirtualClock clock{t0};
  memory::MemoryStore store{clock, memory::MemoryStoreOptions{1, "test", hours(24)}};
  REQUIRE(store.decide_and_commit("L1", visit) == CommitOutcome::committed);
  const auto stale = [](LeadSnapshot&& lead) {
    Transition t = visit(std::move(lead));
    t.expected_version = 0;
    return t;
  };
  CHECK(store.decide_and_commit("L1", stale) == CommitOutcome::conflict);
  CHECK(store.due_timers(t0 + hours(1), 10).size() == 1);
}
