#include "workflows/graph.hpp"

#include <fmt/format.h>

namespace nurture::workflows {

namespace {

struct Edge {
  std::size_t from;
  std::optional<std::size_t> to;  // nullopt: the end of the workflow
  std::string label;
};

std::string comparison_text(const std::string& subject, const Comparison& c) {
  static const char* symbols[] = {"=", "!=", "in", "not in", ">", ">=", "<", "<=", "contains", "matches", "exists"};
  const std::string value = c.value.is_string() ? c.value.get<std::string>() : c.value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (c.op == Comparison::Op::exists) return c.value.get<bool>() ? subject + " exists" : subject + " missing";
  return fmt::format("{} {} {}", subject, symbols[static_cast<int>(c.op)], value);
}

std::string term_text(const ConditionTerm& term) {
  struct Visitor {
    std::string operator()(const AttrTest& t) const { return comparison_text("attr." + t.name, t.comparison); }
    std::string operator()(const ScoreTest& t) const { return comparison_text("score", t.comparison); }
    std::string operator()(const StageTest& t) const { return "stage " + t.stage; }
    std::string operator()(const SegmentTest& t) const { return "in segment " + t.name; }
    std::string operator()(const TagTest& t) const { return "tag " + t.tag; }
    std::string operator()(const EventTest& t) const {
      std::string text = "event " + t.type;
      if (!t.step.empty()) text += " at " + t.step;
      if (t.within) text += " within " + format_duration(*t.within);
      if (t.count) text += " " + comparison_text("count", *t.count);
      return text;
    }
    std::string operator()(const AllOf& t) const { return join(t.items, " and "); }
    std::string operator()(const AnyOf& t) const { return join(t.items, " or "); }
    std::string operator()(const NotOf& t) const { return "not (" + describe(*t.item) + ")"; }
    static std::string join(const std::vector<Condition>& items, const char* glue) {
      std::vector<std::string> parts;
      for (const auto& c : items) parts.push_back("(" + describe(c) + ")");
      return fmt::format("{}", fmt::join(parts, glue));
    }
  };
  return std::visit(Visitor{}, term);
}

std::vector<Edge> edges_of(const Workflow& workflow) {
  std::vector<Edge> edges;
  const std::size_t n = workflow.steps.size();
  for (std::size_t i = 0; i < n; ++i) {
    const Step& step = workflow.steps[i];
    const auto fall = i + 1 < n ? std::optional<std::size_t>(i + 1) : std::nullopt;
    if (const auto* branch = std::get_if<BranchStep>(&step.action)) {
      for (const auto& c : branch->cases) edges.push_back({i, workflow.step_index(c.target), describe(c.condition)});
      edges.push_back({i, branch->else_target.empty() ? fall : workflow.step_index(branch->else_target), "else"});
    } else if (const auto* split = std::get_if<SplitStep>(&step.action)) {
      long total = 0;
      for (const auto& arm : split->arms) total += arm.weight;
      for (const auto& arm : split->arms) {
        edges.push_back({i, workflow.step_index(arm.target),
                         fmt::format("{}%", total ? (100.0 * arm.weight / total) : 0.0)});
      }
    } else if (std::holds_alternative<ExitStep>(step.action)) {
      edges.push_back({i, std::nullopt, "exit"});
    } else if (const auto* wait_for = std::get_if<WaitForStep>(&step.action)) {
      edges.push_back({i, workflow.next_after(i), "on " + wait_for->event});
      edges.push_back({i, wait_for->on_timeout.empty() ? workflow.next_after(i) : workflow.step_index(wait_for->on_timeout),
                       "timeout " + format_duration(wait_for->timeout)});
    } else {
      edges.push_back({i, workflow.next_after(i), step.goto_target.empty() ? "" : "goto"});
    }
  }
  return edges;
}

std::string node_text(const Step& step) {
  struct Visitor {
    std::string operator()(const EmailStep& s) const { return "email " + s.template_name; }
    std::string operator()(const PostStep& s) const { return "post " + s.template_name + " via " + s.connector; }
    std::string operator()(const WebhookStep& s) const { return "webhook " + s.connector; }
    std::string operator()(const HandoffStep& s) const { return "handoff " + s.connector; }
    std::string operator()(const WaitStep& s) const { return "wait " + format_duration(s.duration); }
    std::string operator()(const WaitUntilStep& s) const {
      return s.at_minute ? fmt::format("wait until {:02d}:{:02d}", *s.at_minute / 60, *s.at_minute % 60)
                         : "wait until " + s.attr;
    }
    std::string operator()(const WaitForStep& s) const { return "wait for " + s.event; }
    std::string operator()(const BranchStep&) const { return "branch"; }
    std::string operator()(const SplitStep&) const { return "split"; }
    std::string operator()(const ScoreStep& s) const { return fmt::format("score {:+}", s.points); }
    std::string operator()(const SetStep&) const { return "set"; }
    std::string operator()(const ExitStep& s) const { return s.goal.empty() ? "exit" : "exit: " + s.goal; }
  };
  return std::visit(Visitor{}, step.action);
}

std::string escape(std::string text, char quote) {
  std::string out;
  for (char c : text) {
    if (c == quote) out += quote == '"' ? "#quot;" : "\\'";
    else out += c;
  }
  return out;
}

std::string node_name(std::size_t index) { return fmt::format("s{}", index); }

}  // namespace

std::string describe(const Condition& condition) {
  std::vector<std::string> parts;
  for (const auto& term : condition.terms) parts.push_back(term_text(term));
  return fmt::format("{}", fmt::join(parts, " and "));
}

std::string to_mermaid(const Workflow& workflow) {
  std::string out = "flowchart TD\n";
  out += fmt::format("  start([{}: {}])\n", escape(workflow.id, '"'), escape(workflow.trigger.event, '"'));
  out += "  finish([end])\n";
  for (std::size_t i = 0; i < workflow.steps.size(); ++i) {
    out += fmt::format("  {}[\"{}<br/>{}\"]\n", node_name(i), escape(workflow.steps[i].id, '"'),
                       escape(node_text(workflow.steps[i]), '"'));
  }
  out += fmt::format("  start --> {}\n", node_name(0));
  for (const auto& e : edges_of(workflow)) {
    const std::string target = e.to ? node_name(*e.to) : "finish";
    if (e.label.empty()) out += fmt::format("  {} --> {}\n", node_name(e.from), target);
    else out += fmt::format("  {} -->|\"{}\"| {}\n", node_name(e.from), escape(e.label, '"'), target);
  }
  return out;
}

std::string to_dot(const Workflow& workflow) {
  auto quote = [](const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
      if (c == '\n') {
        out += "\\n";  // dot's own line break
        continue;
      }
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    return out + "\"";
  };
  std::string out = fmt::format("digraph {} {{\n  rankdir=TB;\n  node [shape=box];\n", quote(workflow.id));
  out += fmt::format("  start [shape=oval, label={}];\n  finish [shape=oval, label=\"end\"];\n",
                     quote(workflow.id + ": " + workflow.trigger.event));
  for (std::size_t i = 0; i < workflow.steps.size(); ++i) {
    out += fmt::format("  {} [label={}];\n", node_name(i),
                       quote(workflow.steps[i].id + "\n" + node_text(workflow.steps[i])));
  }
  out += fmt::format("  start -> {};\n", node_name(0));
  for (const auto& e : edges_of(workflow)) {
    const std::string target = e.to ? node_name(*e.to) : "finish";
    if (e.label.empty()) out += fmt::format("  {} -> {};\n", node_name(e.from), target);
    else out += fmt::format("  {} -> {} [label={}];\n", node_name(e.from), target, quote(e.label));
  }
  return out + "}\n";
}

}  // namespace nurture::workflows
