// `nurture posts`: the content calendar of posts/*.yaml, each post on each connector with what became of it:
// upcoming, queued, retrying, published (with the provider's id), failed, or passed over.

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/cli/command.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/event.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

namespace {

struct PostLine {
  std::string at, post, connector, state, detail;
};

// A stored state (Store::post_states) in words: the state and its detail.
std::pair<std::string, std::string> describe(const std::string& stored) {
  const std::string rest = stored.size() > 2 ? stored.substr(2) : "";
  switch (stored.empty() ? ' ' : stored[0]) {
    case 'q': return {"queued", ""};
    case 's': return {"published", rest};
    case 'f': return {"failed", rest};
    case 'x': return {"failed", rest};
    case 'k': return {"passed over", rest == "late" ? "more than a day late when first seen" : rest};
    case 'r': {
      const auto colon = rest.find(':');
      return {"retrying", colon == std::string::npos ? rest
                                                     : fmt::format("attempt {}: {}", rest.substr(0, colon),
                                                                   rest.substr(colon + 1))};
    }
  }
  return {"unknown", stored};
}

int posts(const StoreFlags& flags, bool json) {
  auto opened = open_cli_store(flags.redis, flags.config, StoreUse::read);
  if (!opened) return say(opened.error());
  auto campaign = load_store_campaign(*opened);
  if (!campaign) return say(campaign.error());
  std::map<std::string, std::string> states;
  try {
    states = opened->store->post_states();
  } catch (const engine::StoreUnavailable& e) {
    return say(3, Error{e.what()});
  }
  const engine::TimePoint now = engine::RealClock().now();
  std::vector<PostLine> lines;
  std::map<std::string, int> totals;
  for (const auto& post : campaign->posts) {
    for (const auto& connector : post.connectors) {
      PostLine line{engine::format_rfc3339(post.at), post.id, connector, "", ""};
      const auto stored = states.find(post.id + ":" + connector);
      if (stored != states.end()) {
        std::tie(line.state, line.detail) = describe(stored->second);
      } else {
        line.state = post.at > now ? "upcoming" : "due";
        if (post.at <= now) line.detail = "the daemon queues it within a second of running";
      }
      ++totals[line.state];
      lines.push_back(std::move(line));
    }
  }
  for (const auto& line : lines) {
    if (json) {
      std::cout << nlohmann::ordered_json{{"at", line.at},        {"post", line.post},
                                          {"connector", line.connector}, {"state", line.state},
                                          {"detail", line.detail}}
                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    } else {
      std::cout << fmt::format("{:<22} {:<24} {:<12} {:<12} {}\n", line.at, line.post, line.connector, line.state,
                               line.detail);
    }
  }
  std::string summary;
  for (const auto& [state, n] : totals) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", n, state);
  std::cerr << fmt::format("{} post(s) on {} connector(s): {}\n", campaign->posts.size(), lines.size(),
                           summary.empty() ? "none scheduled" : summary);
  return 0;
}

}  // namespace

Command add_posts(CLI::App& app) {
  struct Flags {
    bool json = false;
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("posts", "the content calendar: each scheduled post on each connector, and "
                                              "what became of it");
  command->add_flag("--json", flags->json, "print one JSON object per post and connector");
  add_store_options(command, flags->store);
  return {command, [flags] { return posts(flags->store, flags->json); }};
}

}  // namespace nurture::cli
