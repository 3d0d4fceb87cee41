#pragma once
// The configured connector instances of a campaign, created through the SDK registry (or loaded from a plugin), and
// what the engine owns around each one: a token bucket from `rate` (`N/s`, `N/m`, `N/5m`,
// `N/h`), a concurrency limit from `concurrency`, a circuit breaker (5 transient failures in a row open it for
// 30 s; then one trial send), and a thread of its own for a connector that declares max_in_flight 1.
// The engine looks instances up by name and never includes a concrete connector.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "nurture/sdk/connector.hpp"
#include "workflows/config.hpp"

namespace nurture::engine {

// How long the dispatcher waits for a connector's answer. A send still queued after this long (behind a slow
// provider) is not sent at all: the dispatcher has given up on it and will retry it.
inline constexpr std::chrono::seconds send_deadline{60};

struct Admission {
  bool go = true;
  std::chrono::milliseconds wait{0};  // when !go: try again after this long (not an attempt)
  std::string reason;                 // rate_limited or circuit_open
};

class ConnectorSet {
 public:
  // Each instance's keys are checked against its type's declaration; problems carry nurture.yaml positions.
  static tl::expected<ConnectorSet, workflows::Diagnostics> create(const workflows::Config& config,
                                                                   const sdk::Registry& registry);
  ConnectorSet();
  ~ConnectorSet();
  ConnectorSet(ConnectorSet&&) noexcept;
  ConnectorSet& operator=(ConnectorSet&&) noexcept;

  sdk::Connector* find(const std::string& name) const;
  // The reader of an instance's bounce and complaint webhook, when its type offers one and it is configured.
  const sdk::FeedbackReader* feedback_reader(const std::string& name) const;
  // For tests: put an instance in directly (with `rate`-style limits when given).
  void add(const std::string& name, std::unique_ptr<sdk::Connector> connector, const std::string& rate = {});

  // Before a send: may this instance send now? Takes a token when it may.
  Admission admit(const std::string& name, std::chrono::system_clock::time_point now) const;
  // After a send: feeds the circuit breaker.
  void report(const std::string& name, const sdk::Result& result, std::chrono::system_clock::time_point now) const;
  // Sends in flight at most (0: no limit).
  int concurrency(const std::string& name) const;
  // Attempts before an action through this instance is given up (`max_attempts`; 0: the engine's default).
  int max_attempts(const std::string& name) const;

  struct Instance;

 private:
  std::map<std::string, std::shared_ptr<Instance>> instances_;
};

// Hands `action` to `connector`; a connector (or plugin) that throws costs this action an attempt (`retry`), not
// the daemon.
void send_guarded(sdk::Connector& connector, const sdk::Action& action, const sdk::Completion& done);

// As the engine runs a connector: one that declares max_in_flight 1 gets a thread of its own (send only queues).
std::unique_ptr<sdk::Connector> with_own_thread_if_serial(std::unique_ptr<sdk::Connector> connector);

// `300/5m` -> 300 sends per 5 minutes; nothing when it does not parse.
struct Rate {
  double tokens = 0;
  std::chrono::milliseconds per{0};
};
std::optional<Rate> parse_rate(const std::string& text);

}  // namespace nurture::engine
