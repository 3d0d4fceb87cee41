#include "engine/runtime/connector_set.hpp"

#include <condition_variable>
#include <deque>
#include <regex>

#include "workflows/duration.hpp"
#include <thread>

#include <fmt/format.h>

#include "connectors/plugin/plugin_loader.hpp"

namespace nurture::engine {

namespace {

using Clock = std::chrono::system_clock;
constexpr int breaker_threshold = 5;
constexpr auto breaker_cooldown = std::chrono::seconds(30);

// A connector that sends one message at a time gets a thread of its own, so it never holds up the dispatcher.
class SerialConnector final : public sdk::Connector {
 public:
  explicit SerialConnector(std::unique_ptr<sdk::Connector> inner) : inner_(std::move(inner)) {
    worker_ = std::thread([this] { run(); });
  }
  ~SerialConnector() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }
  bool needs_mime() const override { return inner_->needs_mime(); }
  bool feedback_names_only_the_message() const override { return inner_->feedback_names_only_the_message(); }
  // The queue is bounded: past it a send is answered `retry` at once instead of waiting behind a stuck provider.
  void send(const sdk::Action& action, sdk::Completion done) override {
    {
      std::lock_guard lock(mutex_);
      if (queue_.size() >= max_queued) {
        done(sdk::Result::retry(std::chrono::seconds(5), "the connector's queue is full"));
        return;
      }
      queue_.push_back({action, std::move(done)});
    }
    wake_.notify_one();
  }

 private:
  void run() {
    while (true) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      // A send whose deadline passed while it queued was already given up by the dispatcher (and will be retried):
      // sending it now could deliver it twice.
      if (job.action.past_deadline()) {
        job.done(sdk::Result::retry(std::chrono::seconds(1), "its deadline passed while it waited to be sent"));
        continue;
      }
      send_guarded(*inner_, job.action, job.done);
    }
  }

  static constexpr std::size_t max_queued = 1024;

  std::unique_ptr<sdk::Connector> inner_;
  std::mutex mutex_;
  std::condition_variable wake_;
  struct Job {
    sdk::Action action;
    sdk::Completion done;
  };
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace

void send_guarded(sdk::Connector& connector, const sdk::Action& action, const sdk::Completion& done) {
  try {
    connector.send(action, done);
  } catch (const std::exception& e) {
    done(sdk::Result::retry(std::chrono::seconds(30), std::string("the connector threw: ") + e.what()));
  } catch (...) {
    done(sdk::Result::retry(std::chrono::seconds(30), "the connector threw"));
  }
}

std::unique_ptr<sdk::Connector> with_own_thread_if_serial(std::unique_ptr<sdk::Connector> connector) {
  if (connector && connector->max_in_flight() == 1) return std::make_unique<SerialConnector>(std::move(connector));
  return connector;
}

struct ConnectorSet::Instance {
  std::unique_ptr<sdk::Connector> connector;
  std::unique_ptr<sdk::FeedbackReader> feedback;
  std::optional<Rate> rate;
  int concurrency = 0;
  int max_attempts = 0;
  std::mutex mutex;
  double tokens = 0;
  Clock::time_point refilled{};
  int transient_failures = 0;
  Clock::time_point open_until{};
  bool trial_in_flight = false;
};

std::optional<Rate> parse_rate(const std::string& text) {
  const auto rate = workflows::parse_rate(text);
  if (!rate) return std::nullopt;
  return Rate{rate->count, std::chrono::duration_cast<std::chrono::milliseconds>(rate->per)};
}

ConnectorSet::ConnectorSet() = default;
ConnectorSet::~ConnectorSet() = default;
ConnectorSet::ConnectorSet(ConnectorSet&&) noexcept = default;
ConnectorSet& ConnectorSet::operator=(ConnectorSet&&) noexcept = default;

tl::expected<ConnectorSet, workflows::Diagnostics> ConnectorSet::create(const workflows::Config& config,
                                                                        const sdk::Registry& registry) {
  ConnectorSet set;
  workflows::Diagnostics diagnostics;
  for (const auto& settings : config.connectors) {
    auto where_of = [&](const std::string& key) {
      auto it = settings.value_locations.find(key);
      return it != settings.value_locations.end() ? it->second : settings.where;
    };
    tl::expected<sdk::Registry::Instance, sdk::ConfigProblems> created;
    std::map<std::string, std::string> values = settings.values;
    values.erase("concurrency");
    values.erase("max_attempts");
    if (settings.type == "plugin") {
      // The plugin declares its own keys; `path` is ours.
      auto path = values.find("path");
      if (path == values.end()) {
        diagnostics.push_back({workflows::Severity::error, settings.where,
                               fmt::format("plugin connector \"{}\" needs `path`", settings.name),
                               "path: /opt/nurture/libmychannel.so"});
        continue;
      }
      std::filesystem::path file = path->second;
      if (file.is_relative()) file = config.base_dir / file;
      values.erase(path);
      auto factory = connectors::load_connector_plugin(file);
      if (!factory) {
        workflows::Diagnostic problem(factory.error());
        problem.where = where_of("path");
        diagnostics.push_back(std::move(problem));
        continue;
      }
      sdk::Registry own;
      const std::string type = factory->type;
      own.add(std::move(*factory));
      created = own.instantiate(type, settings.name, values, config.base_dir);
    } else {
      created = registry.instantiate(settings.type, settings.name, values, config.base_dir);
    }
    if (!created) {
      for (const auto& problem : created.error()) {
        diagnostics.push_back({workflows::Severity::error, where_of(problem.key), problem.message, problem.hint});
      }
    }
    auto instance = std::make_shared<Instance>();
    if (auto rate = settings.values.find("rate"); rate != settings.values.end()) {
      instance->rate = parse_rate(rate->second);
      if (!instance->rate) {
        diagnostics.push_back({workflows::Severity::error, where_of("rate"),
                               fmt::format("rate \"{}\" is not N/s, N/m, N/5m or N/h", rate->second), "e.g. rate: 300/5m"});
      }
    }
    if (auto attempts = settings.values.find("max_attempts"); attempts != settings.values.end()) {
      instance->max_attempts = std::atoi(attempts->second.c_str());
      if (instance->max_attempts < 1 || attempts->second.find_first_not_of("0123456789") != std::string::npos) {
        diagnostics.push_back({workflows::Severity::error, where_of("max_attempts"),
                               "max_attempts must be a whole number of at least 1", "e.g. max_attempts: 5"});
      }
    }
    if (auto limit = settings.values.find("concurrency"); limit != settings.values.end()) {
      instance->concurrency = std::atoi(limit->second.c_str());
      if (instance->concurrency < 1) {
        diagnostics.push_back({workflows::Severity::error, where_of("concurrency"),
                               "concurrency must be a whole number of at least 1", "e.g. concurrency: 8"});
      }
    }
    if (created) {
      instance->connector = with_own_thread_if_serial(std::move(created->connector));
      instance->feedback = std::move(created->feedback);
      if (instance->rate) instance->tokens = instance->rate->tokens;
      set.instances_[settings.name] = std::move(instance);
    }
  }
  if (!diagnostics.empty()) return tl::unexpected(std::move(diagnostics));
  return set;
}

const sdk::FeedbackReader* ConnectorSet::feedback_reader(const std::string& name) const {
  auto it = instances_.find(name);
  return it == instances_.end() ? nullptr : it->second->feedback.get();
}

sdk::Connector* ConnectorSet::find(const std::string& name) const {
  auto it = instances_.find(name);
  return it == instances_.end() ? nullptr : it->second->connector.get();
}

void ConnectorSet::add(const std::string& name, std::unique_ptr<sdk::Connector> connector, const std::string& rate) {
  auto instance = std::make_shared<Instance>();
  instance->connector = with_own_thread_if_serial(std::move(connector));
  if (!rate.empty()) {
    instance->rate = parse_rate(rate);
    if (instance->rate) instance->tokens = instance->rate->tokens;
  }
  instances_[name] = std::move(instance);
}

int ConnectorSet::concurrency(const std::string& name) const {
  auto it = instances_.find(name);
  return it == instances_.end() ? 0 : it->second->concurrency;
}

int ConnectorSet::max_attempts(const std::string& name) const {
  auto it = instances_.find(name);
  return it == instances_.end() ? 0 : it->second->max_attempts;
}

Admission ConnectorSet::admit(const std::string& name, Clock::time_point now) const {
  auto it = instances_.find(name);
  if (it == instances_.end()) return {};
  Instance& i = *it->second;
  std::lock_guard lock(i.mutex);
  if (now < i.open_until) {
    return {false, std::chrono::duration_cast<std::chrono::milliseconds>(i.open_until - now), "circuit_open"};
  }
  if (i.transient_failures >= breaker_threshold) {
    // Half-open: one trial send at a time until one succeeds.
    if (i.trial_in_flight) return {false, std::chrono::seconds(1), "circuit_open"};
    i.trial_in_flight = true;
  }
  if (i.rate) {
    const double per_ms = i.rate->tokens / static_cast<double>(i.rate->per.count());
    if (i.refilled == Clock::time_point{}) i.refilled = now;
    const double elapsed = static_cast<double>(std::chrono::duration_cast<std::chrono::milliseconds>(now - i.refilled).count());
    if (elapsed > 0) {
      i.tokens = std::min(i.rate->tokens, i.tokens + elapsed * per_ms);
      i.refilled = now;
    }
    if (i.tokens < 1.0) {
      if (i.transient_failures >= breaker_threshold) i.trial_in_flight = false;
      const auto wait = std::chrono::milliseconds(static_cast<long long>((1.0 - i.tokens) / per_ms) + 1);
      return {false, wait, "rate_limited"};
    }
    i.tokens -= 1.0;
  }
  return {};
}

void ConnectorSet::report(const std::string& name, const sdk::Result& result, Clock::time_point now) const {
  auto it = instances_.find(name);
  if (it == instances_.end()) return;
  Instance& i = *it->second;
  std::lock_guard lock(i.mutex);
  i.trial_in_flight = false;
  if (result.kind == sdk::Result::Kind::retry) {
    if (++i.transient_failures >= breaker_threshold) i.open_until = now + breaker_cooldown;
  } else {
    // A provider that answers (even "no") is up.
    i.transient_failures = 0;
    i.open_until = {};
  }
}

}  // namespace nurture::engine
