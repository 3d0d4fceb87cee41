// The example campaigns send compliant mail: every email template of every example renders for a sample lead into
// a message with the unsubscribe link, the postal address, RFC 8058 headers and tracked links.
#include <doctest/doctest.h>

#include <set>

#include "engine/runtime/dispatcher.hpp"
#include "templates/mime.hpp"
#include "templates/template_library.hpp"
#include "templates/tracking.hpp"
#include "tests/support/fixtures.hpp"
#include "workflows/campaign.hpp"

using namespace nurture;

TEST_CASE("every email of every example campaign is compliant") {
  for (const std::string example : {"welcome", "webinar", "reengage"}) {
    CAPTURE(example);
    auto load = workflows::load_campaign(std::string(NURTURE_SOURCE_DIR) + "/examples/" + example);
    REQUIRE(load.ok());
    const workflows::Config& config = load.campaign.config;
    templates::TemplateLibrary library(load.campaign.templates_dir);
    const templates::TrackingLinks links{config.tracking_base_url, "test-secret"};
    std::set<std::string> names;
    for (const auto& workflow : load.campaign.workflows) {
      for (const auto& step : workflow.steps) {
        if (const auto* email = std::get_if<workflows::EmailStep>(&step.action)) names.insert(email->template_name);
      }
    }
    REQUIRE_FALSE(names.empty());
    for (const auto& name : names) {
      CAPTURE(name);
      CHECK(library.check_email(name).empty());
      const std::string action = "0123456789abcdef0123456789abcdef";
      const auto variables = engine::template_variables(
          config, links.unsubscribe_url(action), "L1",
          {{"email", "ana@example.com"}, {"first_name", "Ana"}, {"company", "Initech"}, {"plan", "pro"}}, 10, "",
          "w", "s", std::chrono::system_clock::now());
      auto rendered = library.render_email(name, variables);
      REQUIRE_MESSAGE(rendered.has_value(), rendered.error().format());
      const std::string html = templates::add_tracking(rendered->html, links, action, *rendered->link_hosts);
      CHECK(html.find(links.unsubscribe_url(action)) != std::string::npos);
      CHECK(html.find(config.sender.postal_address) != std::string::npos);
      CHECK(html.find(links.open_pixel_url(action)) != std::string::npos);
      CHECK(rendered->text.find(config.sender.postal_address) != std::string::npos);

      templates::OutgoingEmail email;
      email.from = config.sender.from;
      email.to = "ana@example.com";
      email.subject = rendered->subject;
      email.text = rendered->text;
      email.html = html;
      email.message_id = action + "@" + templates::address_domain(config.sender.from);
      email.date = std::chrono::system_clock::now();
      email.list_unsubscribe_url = links.unsubscribe_url(action);
      const std::string raw = templates::compose_mime(email).value();
      CHECK(testing::header(raw, "List-Unsubscribe") == "<" + links.unsubscribe_url(action) + ">");
      CHECK(testing::header(raw, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click");
      CHECK_FALSE(testing::header(raw, "Subject").empty());
    }
  }
}
