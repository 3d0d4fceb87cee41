// The daemon's loop: validate and load the campaign, start the private Redis when `redis: auto`, then run engine
// passes until SIGTERM/SIGINT. A stop request is honoured between passes, so sends in flight finish and their
// results are recorded before exit. Redis going away is not fatal: the loop backs off and resumes, and because
// nothing is acknowledged before it is committed, nothing is lost.

#include "engine/cli/daemon.hpp"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <csignal>
#include <functional>
#include <thread>

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "engine/cli/command.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/runtime/pinned_versions.hpp"
#include "engine/runtime/segment_evaluation.hpp"
#include "engine/http/status_server.hpp"
#include "engine/http/admin_api.hpp"
#include "engine/http/tracking_endpoints.hpp"
#include "engine/http/webhooks.hpp"
#include "engine/runtime/metrics.hpp"
#include "engine/store/redis/embedded_redis.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "engine/store/store_target.hpp"

namespace nurture::engine {

namespace {

std::atomic<bool> stop_requested{false};
std::atomic<bool> reload_requested{false};

extern "C" void on_stop_signal(int) { stop_requested = true; }
extern "C" void on_reload_signal(int) { reload_requested = true; }

// Where a reload asked for over HTTP waits for its outcome: the main loop reloads between runs of the engine and
// hands the outcome of each reload to everyone who asked before it began.
class ReloadDesk {
 public:
  ReloadAnswer request() {
    std::unique_lock lock(mutex_);
    const long mine = ++requested_;
    reload_requested = true;
    if (!done_.wait_for(lock, std::chrono::seconds(60), [&] { return finished_ >= mine; })) {
      return {false, {{"reload", "pending"}, {"errors", {"no outcome within 60 s; the daemon is busy or stopping"}}}};
    }
    return last_;
  }
  void finished(ReloadAnswer answer) {
    std::lock_guard lock(mutex_);
    finished_ = requested_;
    last_ = std::move(answer);
    done_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_;
  long requested_ = 0, finished_ = 0;
  ReloadAnswer last_;
};
ReloadDesk reload_desk;

// The ids of the running campaign's workflows and its declared attributes, for the admin API's threads (a reload
// changes them).
class CampaignFacts {
 public:
  std::vector<std::string> workflow_ids() const {
    std::lock_guard lock(mutex_);
    return ids_;
  }
  workflows::AttributeTypes attributes() const {
    std::lock_guard lock(mutex_);
    return attributes_;
  }
  void set(const workflows::Campaign& campaign) {
    std::vector<std::string> ids;
    for (const auto& w : campaign.workflows) ids.push_back(w.id);
    std::lock_guard lock(mutex_);
    ids_ = std::move(ids);
    attributes_ = campaign.config.attributes;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> ids_;
  workflows::AttributeTypes attributes_;
};
CampaignFacts campaign_facts;

std::string hostname() {
  char name[256] = {0};
  if (::gethostname(name, sizeof(name) - 1) != 0 || !*name) return "engine";
  return name;
}

}  // namespace

namespace {

// What a reload replaces as a whole: the campaign and everything built from it.
struct LoadedCampaign {
  workflows::Campaign campaign;
  std::shared_ptr<ConnectorSet> connectors;  // shared with the webhook endpoints
  std::unique_ptr<templates::TemplateLibrary> templates;
};

// The campaign, or every problem found (each logged as it is found too).
tl::expected<std::unique_ptr<LoadedCampaign>, std::vector<std::string>> load(const DaemonOptions& options,
                                                                             const sdk::Registry& registry) {
  auto loaded = workflows::load_campaign(options.dir, options.config);
  std::vector<std::string> errors;
  for (const auto& d : loaded.diagnostics) {
    const bool error = d.severity == workflows::Severity::error;
    spdlog::log(error ? spdlog::level::err : spdlog::level::warn, "{}", d.format());
    if (error) errors.push_back(d.format());
  }
  if (!loaded.ok()) return tl::unexpected(std::move(errors));
  auto connectors = ConnectorSet::create(loaded.campaign.config, registry);
  if (!connectors) {
    for (const auto& d : connectors.error()) {
      spdlog::error("{}", d.format());
      errors.push_back(d.format());
    }
    return tl::unexpected(std::move(errors));
  }
  for (const auto& d : check_posts(loaded.campaign, registry)) {
    spdlog::error("{}", d.format());
    errors.push_back(d.format());
  }
  if (!errors.empty()) return tl::unexpected(std::move(errors));
  auto result = std::make_unique<LoadedCampaign>();
  result->campaign = std::move(loaded.campaign);
  result->connectors = std::make_shared<ConnectorSet>(std::move(*connectors));
  result->templates = std::make_unique<templates::TemplateLibrary>(result->campaign.templates_dir);
  return result;
}

// Redis for the daemon: the private redis-server when `redis: auto`, and a connection for each user (lead state,
// dispatch, the HTTP handlers, the admin API), so that none waits on another.
// With `workers: N`, workers 2..N each have a state and a dispatch store of their own, under the consumer names
// `NAME-2` ... `NAME-N`: to the store they are engines like any other, so the partitions split among them through
// the heartbeats as they do among processes.
struct Stores {
  std::unique_ptr<redis::EmbeddedRedis> embedded;
  std::string url;
  redis::RedisStoreOptions options;
  std::chrono::milliseconds timeout{};
  std::unique_ptr<redis::RedisStore> state, dispatch, http, segments;
  struct WorkerStores {
    std::unique_ptr<redis::RedisStore> state, dispatch;
  };
  std::vector<WorkerStores> more_workers;

  // One more store on the same Redis, with its own connection (and consumer name, when given); why not when Redis
  // cannot be reached.
  Expected<std::unique_ptr<redis::RedisStore>> another(const std::string& consumer = {}) const {
    auto connection = redis::RedisConnection::open(url, timeout);
    if (!connection) return tl::unexpected(connection.error());
    redis::RedisStoreOptions own = options;
    if (!consumer.empty()) own.consumer = consumer;
    return std::make_unique<redis::RedisStore>(std::move(*connection), own);
  }
};

// `workers`, or the machine's cores.
int worker_count(const workflows::Config& config) {
  if (config.workers > 0) return config.workers;
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

// Exit code 3 when Redis cannot be started or reached.
tl::expected<Stores, cli::CommandError> open_stores(const DaemonOptions& daemon, const workflows::Config& config) {
  Stores stores;
  StoreTarget target = resolve_store_target(daemon.redis, config.redis, config.base_dir);
  if (target.embedded) {
    auto started = redis::EmbeddedRedis::start(target.state_dir);
    if (!started) return cli::stop(3, {"cannot start the private redis-server: " + started.error().message});
    stores.embedded = std::move(*started);
    target.url = stores.embedded->url();
    spdlog::info("private redis-server on {}", target.url);
  }
  stores.url = target.url;
  stores.timeout = daemon.redis_timeout;
  stores.options.key_prefix = config.key_prefix;
  stores.options.partitions = config.partitions;
  stores.options.wait_for_replica = config.durability_replicated;
  stores.options.event_streams = config.event_streams;
  stores.options.consumer = daemon.consumer.empty() ? hostname() : daemon.consumer;
  for (auto* store : {&stores.state, &stores.dispatch, &stores.http, &stores.segments}) {
    auto opened = stores.another();
    if (!opened) return cli::stop(3, {opened.error().message, {}, "start Redis or pass --redis"});
    *store = std::move(*opened);
  }
  for (int worker = 2; worker <= worker_count(config); ++worker) {
    const std::string consumer = fmt::format("{}-{}", stores.options.consumer, worker);
    auto state = stores.another(consumer);
    auto dispatch = stores.another(consumer);
    if (!state || !dispatch) return cli::stop(3, {(state ? dispatch : state).error().message, {}, "start Redis or pass --redis"});
    stores.more_workers.push_back({std::move(*state), std::move(*dispatch)});
  }
  return stores;
}

// The HTTP side: the tracking listener (status, tracking, provider webhooks) and, with a token, the admin API on a
// listener of its own. A port that cannot be bound is a warning: the engine runs without it.
struct HttpSide {
  std::unique_ptr<http::StatusServer> status;
  std::unique_ptr<redis::RedisStore> admin_store;
  std::unique_ptr<AdminApi> admin;
  std::unique_ptr<http::StatusServer> admin_server;
};

HttpSide start_http(const workflows::Config& config, const Stores& stores, const Metrics& metrics,
                    TrackingEndpoints& tracking, WebhookReceiver& webhooks) {
  HttpSide side;
  if (auto started = http::StatusServer::start(config.tracking_listen, metrics,
                                               [&](const http::HttpCall& call) -> std::optional<http::HttpAnswer> {
                                                 if (auto answer = tracking.handle(call)) return answer;
                                                 return webhooks.handle(call);
                                               })) {
    side.status = std::move(*started);
    spdlog::info("HTTP on http://{} (/healthz, /readyz, /metrics, tracking /c /o /u, /webhooks/<connector>)",
                 config.tracking_listen);
  } else {
    spdlog::warn("no status endpoints: {}", started.error().message);
  }
  const char* token = config.admin_token_env.empty() ? nullptr : std::getenv(config.admin_token_env.c_str());
  if (token == nullptr || *token == '\0') {
    spdlog::info("admin API off (set {} to turn it on)", config.admin_token_env);
    return side;
  }
  auto admin_store = stores.another();
  if (!admin_store) {
    spdlog::warn("no admin API: {}", admin_store.error().message);
    return side;
  }
  side.admin_store = std::move(*admin_store);
  side.admin = std::make_unique<AdminApi>(token, *side.admin_store, [] { return reload_desk.request(); },
                                          [] { return campaign_facts.workflow_ids(); },
                                          [] { return campaign_facts.attributes(); });
  AdminApi* admin = side.admin.get();
  if (auto started = http::StatusServer::start(config.admin_listen, metrics,
                                               [admin](const http::HttpCall& call) { return admin->handle(call); })) {
    side.admin_server = std::move(*started);
    spdlog::info("admin API on http://{} (bearer token from {})", config.admin_listen, config.admin_token_env);
  } else {
    spdlog::warn("no admin API: {}", started.error().message);
  }
  return side;
}

// One of the engine's loops, until a stop or reload request. Redis faults back off (100 ms doubling to 5 s) and
// are counted; so is anything else that escapes a pass: a bug, not input (input is dead-lettered where it is read),
// so the daemon says so and goes on, backing off so that a failure that repeats does not spin.
void keep_running(Metrics& metrics, const char* loop, const std::function<int(bool idle)>& pass) {
  std::chrono::milliseconds backoff{100};
  bool idle = false;
  while (!stop_requested && !reload_requested) {
    try {
      idle = pass(idle) == 0;
      if (backoff != std::chrono::milliseconds(100)) metrics.store_reachable(true);
      backoff = std::chrono::milliseconds(100);
      continue;
    } catch (const StoreUnavailable& e) {
      metrics.store_reachable(false, e.what());
      metrics.store_error(loop);
      spdlog::warn("{}: {}; retrying in {} ms", loop, e.what(), backoff.count());
    } catch (const std::exception& e) {
      metrics.loop_error(loop);
      spdlog::error("{}: unexpected error: {}; retrying in {} ms", loop, e.what(), backoff.count());
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
  }
}

// A new or changed segments.yaml: every stored lead's membership is looked at again, beside the other loops (each
// change is a compare-and-set commit like theirs). Done once per definition: the store remembers which it was.
// Stopped by a stop or reload request, it starts over next time (looking again changes nothing that is current).
void evaluate_stored_segments(Store& store, const LoadedCampaign& current, const WorkflowVersions& versions,
                              const Clock& clock, Metrics& metrics) {
  const std::string fingerprint = segments_fingerprint(current.campaign);
  std::chrono::milliseconds backoff{100};
  while (!stop_requested && !reload_requested) {
    try {
      if (store.read_meta("segments") == fingerprint) return;
      spdlog::info("segments: looking at every stored lead again (segments.yaml is new or changed)");
      const Interpreter interpreter(current.campaign, versions);
      long reported = 0;
      const SegmentPass pass = evaluate_segments(store, interpreter, clock, [&](const SegmentPass& so_far) {
        if (so_far.leads - reported >= 50000) {
          spdlog::info("segments: {} leads looked at, {} entered or left a segment", so_far.leads, so_far.changed);
          reported = so_far.leads;
        }
        return !stop_requested && !reload_requested;
      }, &metrics);
      if (stop_requested || reload_requested) return;
      store.write_meta("segments", fingerprint);
      spdlog::info("segments: done, {} leads looked at, {} entered or left a segment", pass.leads, pass.changed);
      return;
    } catch (const StoreUnavailable& e) {
      metrics.store_error("segments");
      spdlog::warn("segments: {}; retrying in {} ms", e.what(), backoff.count());
    } catch (const std::exception& e) {
      metrics.loop_error("segments");
      spdlog::error("segments: unexpected error: {}; retrying in {} ms", e.what(), backoff.count());
    }
    std::this_thread::sleep_for(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
  }
}

// Two loops, each with its own Redis connection: lead state (ingest and timers) here, dispatch on a thread, so
// rendering and delivery overlap with the commits that feed them. Each blocks only when it is idle, and briefly,
// so timers stay punctual and a stop or reload request is seen within a few milliseconds. Returns when one is;
// work in flight is finished and recorded first.
//
// With `workers: N` there are N such pairs, one engine each (connections and consumer name of its own, the same
// campaign, templates and connectors): the partitions' timers, broadcasts and outboxes split among them, and any of
// them ingests (the compare-and-set makes that safe).
void run_engine(Stores& stores, const LoadedCampaign& current, const WorkflowVersions& versions, const Clock& clock,
                Metrics& metrics, std::chrono::milliseconds lease) {
  std::vector<std::unique_ptr<Engine>> engines;
  const auto add_engine = [&](Store& state, Store& dispatch) {
    engines.push_back(std::make_unique<Engine>(state, dispatch, current.campaign, *current.templates,
                                               *current.connectors, clock, versions));
    engines.back()->set_reclaim_after(lease);
    engines.back()->set_metrics(&metrics);
  };
  add_engine(*stores.state, *stores.dispatch);
  for (auto& worker : stores.more_workers) add_engine(*worker.state, *worker.dispatch);
  const auto state_loop = [&](Engine& engine) {
    keep_running(metrics, "state", [&](bool idle) {
      return engine.run_state_once(idle ? std::chrono::milliseconds(20) : std::chrono::milliseconds(0));
    });
  };
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < engines.size(); ++i) {
    Engine& engine = *engines[i];
    threads.emplace_back([&] {
      keep_running(metrics, "dispatch", [&](bool) { return engine.run_dispatch_once(std::chrono::milliseconds(20)); });
    });
    if (i > 0) threads.emplace_back([&] { state_loop(engine); });
  }
  threads.emplace_back([&] { evaluate_stored_segments(*stores.segments, current, versions, clock, metrics); });
  state_loop(*engines.front());
  for (auto& thread : threads) thread.join();
}

// The start-up summary: what runs, at which version, through which connectors.
void log_campaign(const workflows::Campaign& campaign, const WorkflowVersions& versions) {
  std::vector<std::string> workflows, connectors, segments;
  for (const auto& w : campaign.workflows) workflows.push_back(fmt::format("{} v{}", w.id, versions.current(w.id)));
  for (const auto& c : campaign.config.connectors) connectors.push_back(fmt::format("{} ({})", c.name, c.type));
  for (const auto& s : campaign.segments) segments.push_back(s.name);
  spdlog::info("workflows: {}", fmt::join(workflows, ", "));
  spdlog::info("connectors: {}", connectors.empty() ? "none" : fmt::format("{}", fmt::join(connectors, ", ")));
  if (!segments.empty()) spdlog::info("segments: {}", fmt::join(segments, ", "));
}

// SIGHUP or the admin API: validate first; on any error keep running the campaign as it was. The outcome goes to
// whoever waits for it at the reload desk (the admin API's POST /reload).
ReloadAnswer reload(const DaemonOptions& options, const sdk::Registry& registry, Store& store,
                    std::unique_ptr<LoadedCampaign>& current, WorkflowVersions& versions, WebhookReceiver& webhooks) {
  spdlog::info("reloading {} (SIGHUP or the admin API)", current->campaign.dir.string());
  auto next = load(options, registry);
  if (!next) {
    spdlog::error("reload refused: the campaign has errors (above); still running the previous one");
    return {false, {{"reload", "refused"}, {"errors", next.error()}}};
  }
  try {
    versions = pin_versions(store, (*next)->campaign);
  } catch (const std::exception& e) {
    spdlog::error("reload refused: {}; still running the previous one", e.what());
    return {false, {{"reload", "refused"}, {"errors", {e.what()}}}};
  }
  current = std::move(*next);
  campaign_facts.set(current->campaign);
  cli::configure_logging(current->campaign.config);
  webhooks.use(current->connectors);  // new readers, with their secrets read again
  nlohmann::json now_at = nlohmann::json::object();
  for (const auto& workflow : current->campaign.workflows) {
    spdlog::info("workflow {} now at version {}", workflow.id, versions.current(workflow.id));
    now_at[workflow.id] = versions.current(workflow.id);
  }
  return {true, {{"reload", "applied"}, {"versions", now_at}}};
}

}  // namespace

int run_daemon(const DaemonOptions& options, const sdk::Registry& registry) {
  auto loaded = load(options, registry);
  if (!loaded) return 1;
  std::unique_ptr<LoadedCampaign> current = std::move(*loaded);
  const workflows::Config& config = current->campaign.config;
  cli::configure_logging(config);
  auto stores = open_stores(options, config);
  if (!stores) {
    for (const auto& problem : stores.error().problems) spdlog::error("{}", problem.format());
    return stores.error().exit_code;
  }
  WorkflowVersions versions;
  try {
    stores->state->prepare();
    versions = pin_versions(*stores->state, current->campaign);
  } catch (const StoreUnavailable& e) {
    spdlog::error("{}", e.what());
    return 3;
  } catch (const std::runtime_error& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGHUP, on_reload_signal);
  std::signal(SIGPIPE, SIG_IGN);

  RealClock clock;
  Metrics metrics;
  campaign_facts.set(current->campaign);
  WebhookReceiver webhooks(*stores->http, clock);
  webhooks.use(current->connectors);
  TrackingEndpoints tracking(tracking_links(config), *stores->http, clock);
  const HttpSide http_side = start_http(config, *stores, metrics, tracking, webhooks);
  spdlog::info("nurture running: {} workflow(s) from {}, consumer {}, {} worker(s)", current->campaign.workflows.size(),
               current->campaign.dir.string(), stores->options.consumer, 1 + stores->more_workers.size());
  log_campaign(current->campaign, versions);
  while (!stop_requested) {
    run_engine(*stores, *current, versions, clock, metrics, options.lease);
    if (!stop_requested && reload_requested.exchange(false)) {
      reload_desk.finished(reload(options, registry, *stores->state, current, versions, webhooks));
    }
  }
  reload_desk.finished({false, {{"reload", "refused"}, {"errors", {"the daemon is stopping"}}}});
  spdlog::info("stopping: in-flight work finished");
  return 0;
}

}  // namespace nurture::engine
