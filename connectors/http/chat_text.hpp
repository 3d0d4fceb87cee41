#pragma once
// The line a chat alert (slack, discord) posts when the step names no template.
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "nurture/sdk/connector.hpp"

namespace nurture::connectors::http {

inline std::string chat_text(const sdk::Action& action) {
  if (!action.post.text.empty()) return action.post.text;
  const auto body = nlohmann::json::parse(action.json_body.empty() ? "{}" : action.json_body, nullptr, false);
  const nlohmann::json lead = body.is_object() ? body.value("lead", nlohmann::json::object()) : nlohmann::json::object();
  const nlohmann::json attrs = lead.value("attrs", nlohmann::json::object());
  auto attr = [&](const char* name) {
    return attrs.contains(name) && attrs[name].is_string() ? attrs[name].get<std::string>() : std::string();
  };
  std::string who = (attr("first_name") + " " + attr("last_name"));
  if (who == " ") who = lead.value("id", action.lead_id);
  const std::string kind = body.is_object() ? body.value("kind", std::string("webhook")) : "webhook";
  return fmt::format("{}: {} <{}>, score {}, stage {} ({} / {}){}", kind == "handoff" ? "New MQL" : "Lead update",
                     who, attr("email"), lead.value("score", nlohmann::json(0)).dump(),
                     lead.contains("stage") && lead["stage"].is_string() ? lead["stage"].get<std::string>() : "-",
                     action.workflow, action.step,
                     body.is_object() && body.contains("note") ? " — " + body.value("note", std::string()) : "");
}

}  // namespace nurture::connectors::http
