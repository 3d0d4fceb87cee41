#include "engine/runtime/post_scheduler.hpp"

#include <spdlog/spdlog.h>

#include "engine/core/identity.hpp"
#include "engine/runtime/dispatcher.hpp"
#include "templates/template_library.hpp"

namespace nurture::engine {

PlannedAction post_action(const workflows::ScheduledPost& post, const std::string& connector) {
  PlannedAction action;
  action.action_id = post_action_id(post.id, connector);
  action.workflow = posts_workflow;
  action.step = post.id;
  action.kind = "post";
  action.template_name = post.template_name;
  action.connector = connector;
  action.due_ms = to_unix_ms(post.at);
  return action;
}

namespace {
std::size_t code_points(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}
}  // namespace

workflows::Diagnostics check_posts(const workflows::Campaign& campaign, const sdk::Registry& registry) {
  workflows::Diagnostics problems;
  if (campaign.posts.empty()) return problems;
  const templates::TemplateLibrary library(campaign.templates_dir);
  for (const auto& post : campaign.posts) {
    const auto variables = template_variables(campaign.config, "", "", nlohmann::json::object(), 0, "",
                                              posts_workflow, post.id, post.at);
    auto rendered = library.render_post(post.template_name, variables);
    if (!rendered) {
      problems.push_back(workflows::Diagnostic(rendered.error()));
      continue;
    }
    const std::size_t length = code_points(rendered->text);
    for (const auto& name : post.connectors) {
      const workflows::ConnectorSettings* settings = campaign.config.connector(name);
      const sdk::ConnectorFactory* factory = settings ? registry.find(settings->type) : nullptr;
      if (!factory || factory->max_post_length == 0 || length <= factory->max_post_length) continue;
      problems.push_back({workflows::Severity::error, post.where,
                          fmt::format("post \"{}\" is {} characters, more than {} allows ({})", post.id, length,
                                      name, factory->max_post_length),
                          fmt::format("shorten templates/{}.mustache", post.template_name)});
    }
  }
  return problems;
}

int PostScheduler::poll() {
  const TimePoint now = clock_.now();
  if (campaign_.posts.empty() || (last_look_ != TimePoint{} && now - last_look_ < std::chrono::seconds(1))) return 0;
  last_look_ = now;
  int queued = 0;
  for (const auto& post : campaign_.posts) {
    if (post.at > now) break;  // by time
    for (const auto& connector : post.connectors) {
      const PlannedAction action = post_action(post, connector);
      if (queued_.count(post_state_field(action))) continue;
      const bool late = now - post.at > max_post_lateness;
      if (store_.queue_post(action, late)) {
        if (late) {
          spdlog::warn("post {} on {} is more than a day late and is passed over", post.id, connector);
        } else {
          spdlog::info("post {} queued for {}", post.id, connector);
          ++queued;
        }
      }
      queued_.insert(post_state_field(action));
    }
  }
  return queued;
}

}  // namespace nurture::engine
