// The daemon's loop: validate and load the campaign, start the private Redis when `redis: auto`, then run engine
// passes until SIGTERM/SIGINT. A stop request is honoured between passes, so sends in flight finish and their
// results are recorded before exit. Redis going away is not fatal: the loop backs off and resumes, and because
// nothing is acknowledged before it is committed, nothing is lost.

#include "engine/cli/daemon.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

#include <spdlog/spdlog.h>

#include "engine/runtime/engine.hpp"
#include "engine/runtime/pinned_versions.hpp"
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

std::unique_ptr<LoadedCampaign> load(const DaemonOptions& options, const sdk::Registry& registry) {
  auto loaded = workflows::load_campaign(options.dir, options.config);
  for (const auto& d : loaded.diagnostics) {
    spdlog::log(d.severity == workflows::Severity::error ? spdlog::level::err : spdlog::level::warn, "{}",
                d.format());
  }
  if (!loaded.ok()) return nullptr;
  auto connectors = ConnectorSet::create(loaded.campaign.config, registry);
  if (!connectors) {
    for (const auto& d : connectors.error()) spdlog::error("{}", d.format());
    return nullptr;
  }
  auto result = std::make_unique<LoadedCampaign>();
  result->campaign = std::move(loaded.campaign);
  result->connectors = std::make_shared<ConnectorSet>(std::move(*connectors));
  result->templates = std::make_unique<templates::TemplateLibrary>(result->campaign.templates_dir);
  return result;
}

}  // namespace

int run_daemon(const DaemonOptions& options, const sdk::Registry& registry) {
  std::unique_ptr<LoadedCampaign> current = load(options, registry);
  if (!current) return 1;
  const workflows::Config& config = current->campaign.config;

  StoreTarget target = resolve_store_target(options.redis, config.redis, config.base_dir);
  std::unique_ptr<redis::EmbeddedRedis> embedded;
  if (target.embedded) {
    auto started = redis::EmbeddedRedis::start(target.state_dir);
    if (!started) {
      spdlog::error("cannot start the private redis-server: {}", started.error());
      return 3;
    }
    embedded = std::move(*started);
    target.url = embedded->url();
    spdlog::info("private redis-server on {}", target.url);
  }
  auto connection = redis::RedisConnection::open(target.url, options.redis_timeout);
  auto dispatch_connection = redis::RedisConnection::open(target.url, options.redis_timeout);
  auto webhook_connection = redis::RedisConnection::open(target.url, options.redis_timeout);
  if (!connection || !dispatch_connection || !webhook_connection) {
    spdlog::error("{} (start Redis or pass --redis)",
                  !connection ? connection.error() : !dispatch_connection ? dispatch_connection.error()
                                                                          : webhook_connection.error());
    return 3;
  }
  redis::RedisStoreOptions store_options;
  store_options.key_prefix = config.key_prefix;
  store_options.partitions = config.partitions;
  store_options.consumer = options.consumer.empty() ? hostname() : options.consumer;
  redis::RedisStore store(std::move(*connection), store_options);
  redis::RedisStore dispatch_store(std::move(*dispatch_connection), store_options);
  redis::RedisStore webhook_store(std::move(*webhook_connection), store_options);
  RealClock clock;
  WebhookReceiver webhooks(webhook_store, clock);
  webhooks.use(current->connectors);
  TrackingEndpoints tracking(tracking_links(config), webhook_store, clock);
  WorkflowVersions versions;
  try {
    store.prepare();
    versions = pin_versions(store, current->campaign);
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

  Metrics metrics;
  std::unique_ptr<http::StatusServer> status;
  if (auto started = http::StatusServer::start(current->campaign.config.tracking_listen, metrics,
                                               [&](const http::HttpCall& call) -> std::optional<http::HttpAnswer> {
                                                 if (auto answer = tracking.handle(call)) return answer;
                                                 return webhooks.handle(call);
                                               })) {
    status = std::move(*started);
    spdlog::info("HTTP on http://{} (/healthz, /readyz, /metrics, tracking /c /o /u, /webhooks/<connector>)", current->campaign.config.tracking_listen);
  } else {
    spdlog::warn("no status endpoints: {}", started.error());
  }
  // The admin API: its own listener and Redis connection, only with a token.
  std::unique_ptr<redis::RedisStore> admin_store;
  std::unique_ptr<AdminApi> admin;
  std::unique_ptr<http::StatusServer> admin_server;
  const char* admin_token = config.admin_token_env.empty() ? nullptr : std::getenv(config.admin_token_env.c_str());
  if (admin_token != nullptr && *admin_token != '\0') {
    if (auto admin_connection = redis::RedisConnection::open(target.url, options.redis_timeout)) {
      admin_store = std::make_unique<redis::RedisStore>(std::move(*admin_connection), store_options);
      admin = std::make_unique<AdminApi>(admin_token, *admin_store, [] { reload_requested = true; });
      if (auto started = http::StatusServer::start(config.admin_listen, metrics,
                                                   [&admin](const http::HttpCall& call) { return admin->handle(call); })) {
        admin_server = std::move(*started);
        spdlog::info("admin API on http://{} (bearer token from {})", config.admin_listen, config.admin_token_env);
      } else {
        spdlog::warn("no admin API: {}", started.error());
      }
    }
  } else {
    spdlog::info("admin API off (set {} to turn it on)", config.admin_token_env);
  }
  spdlog::info("nurture running: {} workflow(s) from {}, consumer {}", current->campaign.workflows.size(),
               current->campaign.dir.string(), store_options.consumer);

  // Two loops, each with its own Redis connection: lead state (ingest and timers) here, dispatch on a thread, so
  // rendering and delivery overlap with the commits that feed them. Each blocks only when it is idle, and briefly,
  // so timers stay punctual and a stop or reload request is seen within a few milliseconds.
  auto keep_running = [&metrics](const char* loop, const std::function<int(bool idle)>& pass) {
    std::chrono::milliseconds backoff{100};
    bool idle = false;
    while (!stop_requested && !reload_requested) {
      try {
        idle = pass(idle) == 0;
        if (backoff != std::chrono::milliseconds(100)) metrics.store_reachable(true);
        backoff = std::chrono::milliseconds(100);
      } catch (const StoreUnavailable& e) {
        metrics.store_reachable(false, e.what());
        metrics.store_error(loop);
        spdlog::warn("{}: {}; retrying in {} ms", loop, e.what(), backoff.count());
        std::this_thread::sleep_for(backoff);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
      } catch (const std::exception& e) {
        // A bug, not input (input is dead-lettered where it is read): the daemon says so and goes on, backing off
        // so that a failure that repeats does not spin.
        metrics.loop_error(loop);
        spdlog::error("{}: unexpected error: {}; retrying in {} ms", loop, e.what(), backoff.count());
        std::this_thread::sleep_for(backoff);
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, std::chrono::seconds(5));
      }
    }
  };
  while (!stop_requested) {
    {
      Engine engine(store, dispatch_store, current->campaign, *current->templates, *current->connectors, clock,
                    versions);
      engine.set_reclaim_after(options.lease);
      engine.set_metrics(&metrics);
      std::thread dispatch_thread([&] {
        keep_running("dispatch", [&](bool) { return engine.run_dispatch_once(std::chrono::milliseconds(20)); });
      });
      keep_running("state", [&](bool idle) {
        return engine.run_state_once(idle ? std::chrono::milliseconds(20) : std::chrono::milliseconds(0));
      });
      dispatch_thread.join();  // work in flight is finished and recorded
    }
    if (stop_requested || !reload_requested.exchange(false)) continue;
    // SIGHUP: validate first; on any error keep running the campaign as it was.
    spdlog::info("reloading {} (SIGHUP or the admin API)", current->campaign.dir.string());
    auto next = load(options, registry);
    if (!next) {
      spdlog::error("reload refused: the campaign has errors (above); still running the previous one");
      continue;
    }
    try {
      versions = pin_versions(store, next->campaign);
    } catch (const std::exception& e) {
      spdlog::error("reload refused: {}; still running the previous one", e.what());
      continue;
    }
    current = std::move(next);
    webhooks.use(current->connectors);  // new readers, with their secrets read again
    for (const auto& workflow : current->campaign.workflows) {
      spdlog::info("workflow {} now at version {}", workflow.id, versions.current(workflow.id));
    }
  }
  spdlog::info("stopping: in-flight work finished");
  return 0;
}

}  // namespace nurture::engine
