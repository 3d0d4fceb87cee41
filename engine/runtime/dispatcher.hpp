#pragma once
// The dispatcher: outbox -> suppression check -> render -> connector -> recorded result.

#include <chrono>
#include <functional>

#include <tl/expected.hpp>

#include "engine/core/clock.hpp"
#include "engine/runtime/metrics.hpp"
#include "engine/runtime/connector_set.hpp"
#include "engine/runtime/paused_workflows.hpp"
#include "engine/store/store.hpp"
#include "templates/template_library.hpp"
#include "templates/tracking.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds first_backoff{1000};
  std::chrono::milliseconds max_backoff{std::chrono::hours(1)};
  // How long a connector has to answer one send; past it the attempt counts as a retry (and Action.deadline, which
  // connectors read, says the same on the wall clock).
  std::chrono::milliseconds answer_within{send_deadline};
  // The wait before attempt `attempt + 1`: exponential with full jitter, at least what the provider asked for.
  std::chrono::milliseconds backoff(int attempt, std::chrono::milliseconds at_least) const;
};

// The Mustache context: lead.*, score, stage, workflow, step, sender.*,
// unsubscribe_url, now. The dispatcher and `nurture preview` build it the same way. `attrs` become `lead`: a
// caller done with them moves them in rather than have every send copy the lead's attributes.
nlohmann::json template_variables(const workflows::Config& config, const std::string& unsubscribe_url,
                                  const std::string& lead_id, nlohmann::json attrs, double score,
                                  const std::string& stage, const std::string& workflow, const std::string& step,
                                  TimePoint now);

// The signing key comes from the environment variable `tracking.secret_env` names; without one, links are signed
// with a fixed development key and a warning says so once.
templates::TrackingLinks tracking_links(const workflows::Config& config);

class Dispatcher {
 public:
  Dispatcher(Store& store, const workflows::Campaign& campaign, const templates::TemplateLibrary& templates,
             const ConnectorSet& connectors, const Clock& clock, RetryPolicy policy = {})
      : store_(store), campaign_(campaign), templates_(templates), connectors_(connectors), clock_(clock),
        policy_(policy), links_(tracking_links(campaign.config)) {
    for (const auto& workflow : campaign.workflows) {
      if (workflow.max_late) max_late_[workflow.id] = *workflow.max_late;
    }
  }

  // Dispatches one batch from the outbox, waiting up to `block` for one; returns how many entries it handled.
  int poll(std::chrono::milliseconds block = std::chrono::milliseconds(0));

  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  // Which raised events (`email.sent`, ...) anything listens to; by default all are raised.
  void set_listener(std::function<bool(const std::string& type)> listens) { listens_ = std::move(listens); }
  // Actions of these workflows are held, not sent, while they are paused.
  void set_paused(const PausedWorkflows* paused) { paused_ = paused; }

  // `nurture send-test`: one email of `template_name` to `to`, rendered for `lead` as a send would be and marked as
  // a test (`[TEST] ` before the subject, an `X-Nurture-Test: yes` header). Nothing is queued, recorded or counted.
  tl::expected<sdk::Action, std::string> test_email(const std::string& template_name, const std::string& to,
                                                    const LeadSnapshot& lead, bool compose_mime) const;

 private:
  Metrics* metrics_ = nullptr;
  const PausedWorkflows* paused_ = nullptr;
  std::function<bool(const std::string&)> listens_;
  std::map<std::string, workflows::Duration> max_late_;  // by workflow, where set
  class SendRound;
  void dispatch(const std::vector<OutboxEntry>& entries);
  // Claims the batch; what is done already, suppressed or has no connector is settled here. Returns what to send.
  std::vector<const OutboxEntry*> claim(const std::vector<OutboxEntry>& entries, std::vector<DispatchRecord>& records);
  std::vector<LeadSnapshot> leads_as_planned(const std::vector<const OutboxEntry*>& to_send);
  std::vector<std::pair<const OutboxEntry*, sdk::Action>> prepare(const std::vector<const OutboxEntry*>& to_send,
                                                                  std::vector<LeadSnapshot> snapshots,
                                                                  std::vector<DispatchRecord>& records);
  void record(std::vector<DispatchRecord>& records);
  static void log_outcome(const DispatchRecord& record);
  // Whether the action is later than its workflow's max_late allows (measured from when its step was due).
  bool too_late(const PlannedAction& action, TimePoint now) const;
  void settle(const OutboxEntry& entry, const sdk::Result& result, std::vector<DispatchRecord>& records);
  // Renders the planned action for its connector; a render error is this action's failure, nobody else's. The
  // lead is the action's own copy: an email's attributes move into its Mustache context.
  tl::expected<sdk::Action, std::string> build_action(const OutboxEntry& entry, LeadSnapshot lead,
                                                      bool compose_mime, bool test = false) const;
  // What rendering one action needs: its time, its tracking reference and unsubscribe link, the Mustache context.
  struct Rendering {
    TimePoint now;
    std::string ref, unsubscribe_url;
    nlohmann::json variables;
    bool test = false;  // send-test
  };
  tl::expected<sdk::Action, std::string> with_post(sdk::Action action, const PlannedAction& planned,
                                                   const LeadSnapshot& lead, const Rendering& rendering) const;
  tl::expected<sdk::Action, std::string> with_request(sdk::Action action, const PlannedAction& planned,
                                                      const LeadSnapshot& lead, const Rendering& rendering) const;
  tl::expected<sdk::Action, std::string> with_email(sdk::Action action, const PlannedAction& planned,
                                                    const Rendering& rendering, bool compose_mime) const;

  Store& store_;
  const workflows::Campaign& campaign_;
  const templates::TemplateLibrary& templates_;
  const ConnectorSet& connectors_;
  const Clock& clock_;
  RetryPolicy policy_;
  templates::TrackingLinks links_;
};

}  // namespace nurture::engine
