// `nurture segment list|show NAME [--export FILE.csv]`: who is in a segment now. Membership is computed for each
// stored lead at this moment (the condition as segments.yaml says it now), so a new segment shows its members even
// before the daemon has looked at every lead again.

#include <fstream>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "engine/cli/command.hpp"
#include "engine/core/clock.hpp"
#include "text/csv.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

namespace {

struct Member {
  std::string lead;
  std::string email;
};

struct SegmentOptions {
  std::string name;  // empty: every segment (list)
  std::string export_file;
  int sample = 10;
  StoreFlags store;
};

}  // namespace

tl::expected<std::unique_ptr<SegmentMembership>, CommandError> SegmentMembership::open(const CliStore& store,
                                                                                       const std::string& segment) {
  auto campaign = load_store_campaign(store);
  if (!campaign) return tl::unexpected(campaign.error());
  if (!segment.empty() && !campaign->segment(segment)) {
    return stop(1, Error{fmt::format("no segment \"{}\"", segment), {"segments.yaml"}, "see `nurture segment list`"});
  }
  return std::make_unique<SegmentMembership>(std::move(*campaign));
}

namespace {

// Members of each segment (of `options.name`, when given), sorted by lead id.
tl::expected<std::map<std::string, std::vector<Member>>, CommandError> members(const SegmentOptions& options) {
  auto opened = open_cli_store(options.store.redis, options.store.config, StoreUse::read);
  if (!opened) return tl::unexpected(opened.error());
  auto membership = SegmentMembership::open(*opened, options.name);
  if (!membership) return tl::unexpected(membership.error());
  std::map<std::string, std::vector<Member>> found;
  for (const auto& segment : (*membership)->campaign().segments) {
    if (options.name.empty() || segment.name == options.name) found[segment.name];
  }
  const engine::RealClock clock;
  try {
    opened->store->scan_leads(1000, [&](std::vector<engine::LeadSnapshot>& leads) {
      const engine::TimePoint now = clock.now();
      for (const auto& lead : leads) {
        for (const auto& name : (*membership)->of(lead, now)) {
          auto it = found.find(name);
          if (it == found.end()) continue;
          const auto email = lead.attrs.find("email");
          it->second.push_back({lead.id, email != lead.attrs.end() && email->is_string() ? email->get<std::string>() : ""});
        }
      }
      return true;
    });
  } catch (const engine::StoreUnavailable& e) {
    return stop(3, Error{e.what()});
  }
  for (auto& [name, list] : found) {
    std::sort(list.begin(), list.end(), [](const Member& a, const Member& b) { return a.lead < b.lead; });
  }
  return found;
}

int list_segments(const SegmentOptions& options) {
  auto found = members(options);
  if (!found) return say(found.error());
  if (found->empty()) {
    std::cout << "no segments (define them in segments.yaml)\n";
    return 0;
  }
  std::cout << fmt::format("{:<32} {:>10}\n", "segment", "members");
  for (const auto& [name, list] : *found) std::cout << fmt::format("{:<32} {:>10}\n", name, list.size());
  return 0;
}

int show_segment(const SegmentOptions& options) {
  auto found = members(options);
  if (!found) return say(found.error());
  const std::vector<Member>& list = found->at(options.name);
  std::cout << fmt::format("segment {}: {} lead(s)\n", options.name, list.size());
  for (std::size_t i = 0; i < list.size() && i < static_cast<std::size_t>(std::max(options.sample, 0)); ++i) {
    std::cout << fmt::format("  {}  {}\n", list[i].lead, list[i].email);
  }
  if (list.size() > static_cast<std::size_t>(std::max(options.sample, 0))) std::cout << "  ...\n";
  if (options.export_file.empty()) return 0;
  std::ofstream out(options.export_file, std::ios::binary);
  out << "lead,email\r\n";
  for (const auto& member : list) out << text::csv_field(member.lead) << ',' << text::csv_field(member.email) << "\r\n";
  out.close();
  if (!out) return say(1, Error{fmt::format("cannot write {}", options.export_file)});
  std::cerr << fmt::format("wrote {} member(s) to {}\n", list.size(), options.export_file);
  return 0;
}

}  // namespace

Command add_segment(CLI::App& app) {
  auto options = std::make_shared<SegmentOptions>();
  auto* command = app.add_subcommand("segment", "who is in the segments of segments.yaml, now");
  command->require_subcommand(1);
  auto* list = command->add_subcommand("list", "every segment with its number of members");
  add_store_options(list, options->store);
  auto* show = command->add_subcommand("show", "a segment's number of members and a sample; --export writes them all");
  show->add_option("name", options->name, "segment name")->required();
  show->add_option("--export", options->export_file, "write the members (lead,email) to this CSV file");
  show->add_option("--sample", options->sample, "how many members to print")->capture_default_str();
  add_store_options(show, options->store);
  return {command, [options, list] { return *list ? list_segments(*options) : show_segment(*options); }};
}

}  // namespace nurture::cli
