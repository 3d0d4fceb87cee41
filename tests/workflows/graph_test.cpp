#include <doctest/doctest.h>

#include "tests/support/fixtures.hpp"
#include "workflows/campaign.hpp"
#include "workflows/graph.hpp"

using namespace nurture::workflows;

namespace {
Workflow sample() {
  nurture::testing::TempDir dir;
  nurture::testing::write_file(dir / "w.yaml", R"(workflow: w
trigger: { event: lead.created }
steps:
  - id: hello
    email: { template: welcome }
  - id: registered
    wait_for: { event: webinar.registered, timeout: 5d }
    on_timeout: last
  - id: check
    branch:
      - if: { event: email.clicked, step: hello, within: 7d }
        goto: ab
      - if: { attr.plan: pro }
        goto: last
  - id: ab
    split:
      - { weight: 3, goto: last }
      - { weight: 1, goto: done }
  - id: last
    email: { template: tips }
    goto: done
  - id: done
    exit: { goal: finished }
)");
  auto workflow = load_workflow(dir / "w.yaml", "w.yaml", "outbox");
  REQUIRE(workflow);
  return *workflow;
}
}  // namespace

TEST_CASE("mermaid graphs label branches, else, splits, arrivals, timeouts and gotos") {
  const std::string graph = to_mermaid(sample());
  CHECK(graph.rfind("flowchart TD\n", 0) == 0);
  CHECK(graph.find("  start([w: lead.created])\n") != std::string::npos);
  CHECK(graph.find("  s1 -->|\"on webinar.registered\"| s2\n") != std::string::npos);
  CHECK(graph.find("  s1 -->|\"timeout 5d\"| s4\n") != std::string::npos);
  CHECK(graph.find("  s2 -->|\"event email.clicked at hello within 1w\"| s3\n") != std::string::npos);
  CHECK(graph.find("  s2 -->|\"attr.plan = pro\"| s4\n") != std::string::npos);
  CHECK(graph.find("  s2 -->|\"else\"| s3\n") != std::string::npos);  // no else: the next step
  CHECK(graph.find("  s3 -->|\"75%\"| s4\n") != std::string::npos);
  CHECK(graph.find("  s3 -->|\"25%\"| s5\n") != std::string::npos);
  CHECK(graph.find("  s4 -->|\"goto\"| s5\n") != std::string::npos);
  CHECK(graph.find("  s5 -->|\"exit\"| finish\n") != std::string::npos);
}

TEST_CASE("dot graphs carry the same edges and quote their labels") {
  const std::string graph = to_dot(sample());
  CHECK(graph.rfind("digraph \"w\" {", 0) == 0);
  CHECK(graph.find("  s0 [label=\"hello\\nemail welcome\"];") != std::string::npos);
  CHECK(graph.find("  s1 -> s4 [label=\"timeout 5d\"];") != std::string::npos);
  CHECK(graph.find("  s3 -> s5 [label=\"25%\"];") != std::string::npos);
  CHECK(graph.back() == '\n');
}
