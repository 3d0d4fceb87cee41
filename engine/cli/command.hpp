#pragma once
// The commands of `nurture`: each adds its subcommand and options to the app and returns what runs it once the
// command line chose it. Exit codes: 0 ok, 1 invalid input or a failed check, 2 usage, 3 cannot reach Redis or a
// connector.

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <CLI/CLI.hpp>
#include <tl/expected.hpp>

#include "engine/core/interpreter.hpp"
#include "engine/store/redis/embedded_redis.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "nurture/error.hpp"
#include "workflows/config.hpp"
#include "workflows/diagnostic.hpp"

namespace nurture::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command add_run(CLI::App& app);       // run.cpp: the daemon
Command add_validate(CLI::App& app);  // campaign.cpp: validate, preview, graph, schema
Command add_preview(CLI::App& app);
Command add_graph(CLI::App& app);
Command add_schema(CLI::App& app);
Command add_simulate(CLI::App& app);  // simulate.cpp
Command add_emit(CLI::App& app);      // leads_in.cpp: emit, import
Command add_import(CLI::App& app);
Command add_dsn(CLI::App& app);       // dsn.cpp
Command add_report(CLI::App& app);    // reports.cpp: report, lead show
Command add_lead(CLI::App& app);
Command add_segment(CLI::App& app);   // segments.cpp: segment list, segment show
Command add_suppress(CLI::App& app);  // suppress.cpp: suppress import, export, list, remove
Command add_workflow(CLI::App& app);  // operations.cpp: workflow list, pause, resume
Command add_broadcast(CLI::App& app);  // broadcasts.cpp: broadcast list, show, cancel
Command add_posts(CLI::App& app);     // posts.cpp: the content calendar
Command add_send_test(CLI::App& app);  // send_test.cpp
// operations.cpp: `lead remove` and `lead erase`, beside `lead show|list`; what runs them, nullopt when neither
// was chosen.
std::function<std::optional<int>()> add_lead_changes(CLI::App& lead_command);

// The daemon's log format and level, as nurture.yaml's `log:` says (logging.cpp).
void configure_logging(const workflows::Config& config);

// --config and --redis, for the commands that read or write a campaign's store.
struct StoreFlags {
  std::string config;
  std::string redis;
};
void add_store_options(CLI::App* command, StoreFlags& flags);

// Why a command stops: every problem (each said as `file:line:col: error: message (fix)`) and its exit code.
struct CommandError {
  workflows::Diagnostics problems;
  int exit_code = 1;
};
inline tl::unexpected<CommandError> stop(int exit_code, Error error) {
  return tl::unexpected(CommandError{{workflows::Diagnostic(std::move(error))}, exit_code});
}
// Says the problems on standard error; returns the exit code.
int say(const CommandError& failure);
// One problem.
inline int say(int exit_code, Error problem) {
  return say(CommandError{{workflows::Diagnostic(std::move(problem))}, exit_code});
}

// The store a command-line tool talks to, with the config it came from.
struct CliStore {
  // When the campaign's daemon is stopped, a command that only reads starts its private Redis on the daemon's data
  // for the read, and stops it after (declared first: it outlives the connection).
  std::unique_ptr<engine::redis::EmbeddedRedis> started_for_read;
  std::unique_ptr<engine::redis::RedisStore> store;
  std::optional<workflows::Config> config;
};

// Segment membership now, as segments.yaml says it (`segment list|show`, `lead list --segment`): the campaign of
// the store's nurture.yaml and an interpreter over it. An error when there is no nurture.yaml, the campaign does
// not load, or `segment` (when given) is not defined.
class SegmentMembership {
 public:
  static tl::expected<std::unique_ptr<SegmentMembership>, CommandError> open(const CliStore& store,
                                                                              const std::string& segment);
  const workflows::Campaign& campaign() const { return campaign_; }
  std::set<std::string> of(const engine::LeadSnapshot& lead, engine::TimePoint now) const {
    return interpreter_.reevaluate_segments(lead, now).lead.segments;
  }
  explicit SegmentMembership(workflows::Campaign campaign) : campaign_(std::move(campaign)), interpreter_(campaign_) {}

 private:
  workflows::Campaign campaign_;
  engine::Interpreter interpreter_;
};

// What a command does with the store: only reads (and may then start a stopped daemon's Redis for the read), or
// writes too (and needs the daemon running, so that what it writes is acted on).
enum class StoreUse { read, write };
tl::expected<CliStore, CommandError> open_cli_store(const std::string& redis_flag, const std::string& config_path,
                                                    StoreUse use = StoreUse::write);

// The campaign of the store's nurture.yaml, for the commands that name its workflows, segments or posts: exit 2
// without a nurture.yaml, 1 when the campaign does not load.
tl::expected<workflows::Campaign, CommandError> load_store_campaign(const CliStore& store);

// The whole of FILE, or of standard input for "" or "-".
Expected<std::string> read_input(const std::string& file);

}  // namespace nurture::cli
