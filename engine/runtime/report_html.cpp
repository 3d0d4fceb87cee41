// `nurture report --html`: one self-contained page, charts drawn as inline SVG by this file. No script and no
// external asset (the page's Content-Security-Policy refuses any), so it opens from a mail attachment or a file
// share as it is, and shows the same numbers as the table and JSON.

#include <algorithm>
#include <sstream>

#include <date/date.h>
#include <fmt/format.h>

#include "engine/runtime/report.hpp"
#include "templates/mustache.hpp"

namespace nurture::engine {

namespace {

constexpr int chart_width = 760;
constexpr int label_width = 220;  // left of the bars
constexpr int bar_height = 18;
constexpr int row_gap = 8;
constexpr const char* blue = "#2563eb";
constexpr const char* green = "#16a34a";
constexpr const char* amber = "#d97706";
constexpr const char* grey = "#94a3b8";

std::string esc(const std::string& text) { return templates::escape_html(text); }

// The length of a bar for `value` of `max` in `span` pixels (at least 1 px for any value above 0).
int bar_length(long value, long max, int span) {
  if (value <= 0 || max <= 0) return 0;
  return std::max(1, static_cast<int>(static_cast<double>(span) * static_cast<double>(value) / static_cast<double>(max)));
}

std::string svg_open(int height, const std::string& title) {
  return fmt::format("<svg class=\"chart\" role=\"img\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
                     "xmlns=\"http://www.w3.org/2000/svg\"><title>{2}</title>\n",
                     chart_width, height, esc(title));
}

struct BarRow {
  std::string label;
  long value = 0;
  std::string note;  // after the number
  const char* color = blue;
  long track = 0;  // drawn light behind the bar: the whole the value is a part of (0: none)
};

// Horizontal bars, one row each, scaled to `max`.
std::string bar_chart(const std::string& title, const std::vector<BarRow>& rows, long max) {
  const int span = chart_width - label_width - 170;
  std::string out = svg_open(static_cast<int>(rows.size()) * (bar_height + row_gap) + row_gap, title);
  int y = row_gap;
  for (const auto& row : rows) {
    const int length = bar_length(row.value, max, span);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>", label_width - 8,
                       y + bar_height - 5, esc(row.label));
    const int track = bar_length(row.track, max, span);
    if (track > 0) {
      out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#e2e8f0\" rx=\"2\"/>",
                         label_width, y, track, bar_height);
    }
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" rx=\"2\"/>", label_width, y,
                       length, bar_height, row.color);
    out += fmt::format("<text x=\"{}\" y=\"{}\" class=\"value\">{}{}</text>\n", label_width + std::max(length, track) + 6,
                       y + bar_height - 5, row.value, row.note.empty() ? "" : " " + esc(row.note));
    y += bar_height + row_gap;
  }
  return out + "</svg>\n";
}

// Entered, then how many reached each step, then each goal: the share of those who entered that got so far.
std::string funnel_chart(const WorkflowReport& r) {
  std::vector<BarRow> rows{{"entered", r.entered, "", grey}};
  for (const auto& s : r.steps) {
    rows.push_back({fmt::format("{} ({})", s.step, s.action), s.reached, "(" + percent(s.reached, r.entered) + ")"});
  }
  for (const auto& [goal, n] : r.goals) rows.push_back({"goal: " + goal, n, "(" + percent(n, r.entered) + ")", green});
  return bar_chart(r.workflow + ": funnel", rows, r.entered);
}

bool sends(const StepReport& s) { return s.action == "email" || s.action == "post" || s.action == "webhook" || s.action == "handoff"; }

// Per sending step: sent, opened, clicked side by side; then the workflow's goals.
std::string steps_chart(const WorkflowReport& r) {
  std::vector<BarRow> rows;
  long max = 1;
  for (const auto& s : r.steps) {
    if (!sends(s)) continue;
    rows.push_back({s.step + " sent", s.sent, "", blue});
    if (s.action == "email") {
      rows.push_back({s.step + " opened", s.opened, "(" + percent(s.opened, s.sent) + ")", amber});
      rows.push_back({s.step + " clicked", s.clicked, "(" + percent(s.clicked, s.sent) + " CTR)", green});
    }
    max = std::max({max, s.sent, s.opened, s.clicked});
  }
  for (const auto& [goal, n] : r.goals) {
    rows.push_back({"goal: " + goal, n, "", green});
    max = std::max(max, n);
  }
  if (rows.empty()) return "<p class=\"none\">no sending steps</p>\n";
  return bar_chart(r.workflow + ": sent, opened and clicked per step", rows, max);
}

// Columns, one per day from the first send to the last (at most the last 120 days), days without sends at 0.
std::string days_chart(const WorkflowReport& r) {
  if (r.sent_per_day.empty()) return "<p class=\"none\">nothing sent yet</p>\n";
  std::vector<std::pair<std::string, long>> days;
  const auto parse = [](const std::string& text) {
    std::istringstream in(text);
    date::sys_days day{};
    in >> date::parse("%F", day);
    return day;
  };
  const date::sys_days first = parse(r.sent_per_day.begin()->first), last = parse(r.sent_per_day.rbegin()->first);
  for (date::sys_days day = std::max(first, last - date::days(119)); day <= last; day += date::days(1)) {
    const std::string text = date::format("%F", day);
    const auto it = r.sent_per_day.find(text);
    days.emplace_back(text, it == r.sent_per_day.end() ? 0 : it->second);
  }
  long max = 1;
  for (const auto& [day, n] : days) max = std::max(max, n);
  const int plot_height = 140, top = 18, left = 40;
  const int column = std::clamp((chart_width - left - 10) / static_cast<int>(days.size()), 2, 48);
  std::string out = svg_open(plot_height + top + 34, r.workflow + ": sends per day");
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\"/>", left, top + plot_height,
                     left + column * static_cast<int>(days.size()), grey);
  out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"label\">{}</text>\n", left - 4, top + 4, max);
  const std::size_t label_every = days.size() <= 14 ? 1 : 7;
  for (std::size_t i = 0; i < days.size(); ++i) {
    const int height = bar_length(days[i].second, max, plot_height);
    const int x = left + column * static_cast<int>(i);
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>",
                       x + 1, top + plot_height - height, std::max(1, column - 2), height, blue, days[i].first,
                       days[i].second);
    if (days.size() <= 31 && days[i].second > 0) {
      out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"value\">{}</text>", x + column / 2,
                         top + plot_height - height - 4, days[i].second);
    }
    if (i % label_every == 0 || i + 1 == days.size()) {
      out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" class=\"axis\">{}</text>", x + column / 2,
                         top + plot_height + 16, days[i].first.substr(5));
    }
    out += "\n";
  }
  return out + "</svg>\n";
}

// The arms' rates of the split's metric, the winner in green, and the verdict of the test under it.
std::string split_chart(const std::string& owner, const SplitReport& split) {
  std::vector<BarRow> rows;
  for (const auto& a : split.arms) {
    rows.push_back({a.weight > 0 ? fmt::format("{} (weight {})", a.target, a.weight) : a.target, a.successes,
                    fmt::format("of {} = {}", a.trials, percent(a.successes, a.trials)),
                    a.target == split.winner ? green : blue, a.trials});
  }
  long max = 1;
  for (const auto& a : split.arms) max = std::max(max, a.trials);
  std::string out = fmt::format("<h4>split {}: {} per arm</h4>\n", esc(split.step), esc(split.metric));
  out += bar_chart(fmt::format("{}: split {}", owner, split.step), rows, max);
  return out + fmt::format("<p class=\"verdict{}\">{}</p>\n", split.winner.empty() ? "" : " winner",
                           esc(split_verdict(split)));
}

std::string steps_table(const WorkflowReport& r) {
  std::string out =
      "<table><tr><th>step</th><th>action</th><th>reached</th><th>sent</th><th>failed</th><th>skipped</th>"
      "<th>opened</th><th>clicked</th><th>CTR</th></tr>\n";
  for (const auto& s : r.steps) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                       "<td>{}</td></tr>\n",
                       esc(s.step), esc(s.action), s.reached, s.sent, s.failed, s.skipped, s.opened, s.clicked,
                       s.action == "email" ? percent(s.clicked, s.sent) : "");
  }
  return out + "</table>\n";
}

const char* style =
    "body{font-family:system-ui,sans-serif;margin:2em;color:#0f172a;max-width:820px}"
    "section{margin-bottom:3em}h2 small{color:#64748b;font-weight:normal}"
    ".summary{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}"
    ".card{border:1px solid #e2e8f0;border-radius:6px;padding:.5em 1em;min-width:6em}"
    ".card b{display:block;font-size:1.4em}.card span{color:#64748b;font-size:.85em}"
    "svg.chart{display:block;margin:.5em 0 1.5em}svg text{font-size:12px;fill:#0f172a}"
    "svg text.axis{font-size:10px;fill:#64748b}.none{color:#64748b}"
    ".verdict{margin-top:-1em;color:#64748b}.verdict.winner{color:#15803d;font-weight:bold}"
    "table{border-collapse:collapse;margin-bottom:2em}th,td{border:1px solid #cbd5e1;padding:4px 8px;"
    "text-align:right}th:first-child,td:first-child,td:nth-child(2){text-align:left}";

std::string cards_html(const std::vector<std::pair<std::string, std::string>>& cards) {
  std::string out = "<div class=\"summary\">";
  for (const auto& [name, value] : cards) {
    out += fmt::format("<div class=\"card\"><b>{}</b><span>{}</span></div>", esc(value), esc(name));
  }
  return out + "</div>\n";
}

// "EUR 1440.00" per currency, for a card.
std::string revenue_card(const Revenue& revenue) {
  std::string out;
  for (const auto& [currency, cents] : revenue.cents) {
    out += fmt::format("{}{} {:.2f}", out.empty() ? "" : ", ", currency, static_cast<double>(cents) / 100);
  }
  return out;
}

std::string broadcast_section(const BroadcastReport& r) {
  std::string out = fmt::format("<section><h2>broadcast {} <small>to {}, {}</small></h2>\n", esc(r.broadcast),
                                esc(r.segment), esc(r.when));
  std::vector<std::pair<std::string, std::string>> cards = {
      {"state", r.state},          {"reached", std::to_string(r.reached)}, {"sent", std::to_string(r.sent)},
      {"skipped", std::to_string(r.skipped)}, {"opened", std::to_string(r.opened)},
      {"clicked", std::to_string(r.clicked)}, {"email CTR", percent(r.clicked, r.sent)}};
  if (!r.revenue.empty()) cards.push_back({"revenue", revenue_card(r.revenue)});
  out += cards_html(cards);
  if (r.split) {
    out += split_chart("broadcast " + r.broadcast, *r.split);
    if (!r.picked.empty()) out += fmt::format("<p>The rest got {}.</p>\n", esc(r.picked));
  }
  return out + "</section>\n";
}

std::string summary_cards(const WorkflowReport& r) {
  long goals = 0, sent = 0, clicked = 0;
  for (const auto& [goal, n] : r.goals) goals += n;
  for (const auto& s : r.steps) {
    sent += s.sent;
    if (s.action == "email") clicked += s.clicked;
  }
  std::vector<std::pair<std::string, std::string>> cards = {
      {"entered", std::to_string(r.entered)},     {"active", std::to_string(r.active)},
      {"completed", std::to_string(r.completed)}, {"exited", std::to_string(r.exited)},
      {"goals", std::to_string(goals)},           {"conversion", percent(goals, r.entered)},
      {"sent", std::to_string(sent)},             {"email CTR", percent(clicked, sent)}};
  if (!r.revenue.empty()) cards.push_back({"revenue", revenue_card(r.revenue)});
  return cards_html(cards);
}

}  // namespace

std::string report_html(const std::vector<WorkflowReport>& report, const std::string& title,
                        const std::vector<BroadcastReport>& broadcasts) {
  std::string out = fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
      "<title>{0}</title>\n<style>{1}</style></head>\n<body><h1>{0}</h1>\n",
      esc(title), style);
  for (const auto& r : report) {
    out += fmt::format("<section><h2>{} <small>version {}</small></h2>\n", esc(r.workflow), r.version);
    out += summary_cards(r);
    out += "<h3>Funnel</h3>\n" + funnel_chart(r);
    out += "<h3>Steps</h3>\n" + steps_chart(r);
    out += "<h3>Sends per day</h3>\n" + days_chart(r);
    if (!r.splits.empty()) {
      out += "<h3>A/B splits</h3>\n";
      for (const auto& split : r.splits) out += split_chart(r.workflow, split);
    }
    out += "<h3>Table</h3>\n" + steps_table(r) + "</section>\n";
  }
  for (const auto& b : broadcasts) out += broadcast_section(b);
  return out + "</body></html>\n";
}

}  // namespace nurture::engine
