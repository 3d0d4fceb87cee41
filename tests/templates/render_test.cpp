#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "templates/mustache.hpp"
#include "templates/template_library.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::templates;
using nurture::testing::TempDir;
using nurture::testing::write_file;

namespace {
nlohmann::json lead_variables(nlohmann::json lead) {
  return {{"lead", std::move(lead)},
          {"sender", {{"postal_address", "1 Main St"}}},
          {"unsubscribe_url", "https://t.example/u/abc"}};
}
}  // namespace

TEST_CASE("front matter gives the subject, the body renders lead variables HTML-escaped") {
  TempDir dir;
  write_file(dir / "welcome.mustache",
             "---\nsubject: \"Welcome, {{lead.first_name}} & co\"\n---\n<p>Hi {{lead.first_name}}</p>\n");
  TemplateLibrary library(dir.path());
  auto email = library.render_email("welcome", lead_variables({{"first_name", "<Ana>"}}));
  REQUIRE(email);
  CHECK(email->subject == "Welcome, <Ana> & co");  // the subject is not HTML: no escaping
  CHECK(email->html == "<p>Hi &lt;Ana&gt;</p>\n");
  CHECK(email->text == "Hi <Ana>\n");  // derived from the HTML
}

TEST_CASE("a layout wraps the body as {{{content}}} and partials come from partials/") {
  TempDir dir;
  write_file(dir / "layouts/default.mustache",
             "<body>{{{content}}}<footer>{{sender.postal_address}} <a href=\"{{unsubscribe_url}}\">Unsubscribe</a>"
             "</footer></body>");
  write_file(dir / "partials/cta.mustache", "<a href=\"https://x.example/go\">Go, {{lead.first_name}}</a>");
  write_file(dir / "welcome.mustache", "---\nsubject: Hi\nlayout: default\n---\n<p>Body</p>{{> cta}}");
  TemplateLibrary library(dir.path());
  auto email = library.render_email("welcome", lead_variables({{"first_name", "Ana"}}));
  REQUIRE(email);
  CHECK(email->html ==
        "<body><p>Body</p><a href=\"https://x.example/go\">Go, Ana</a><footer>1 Main St "
        "<a href=\"https://t.example/u/abc\">Unsubscribe</a></footer></body>");
  CHECK(email->text.find("Go, Ana (https://x.example/go)") != std::string::npos);
  CHECK(email->text.find("Unsubscribe (https://t.example/u/abc)") != std::string::npos);
}

TEST_CASE("a missing variable renders empty and an inverted section gives the fallback") {
  TempDir dir;
  write_file(dir / "welcome.mustache",
             "---\nsubject: Hi {{lead.first_name}}{{^lead.first_name}}there{{/lead.first_name}}\n---\nx");
  TemplateLibrary library(dir.path());
  auto email = library.render_email("welcome", lead_variables(nlohmann::json::object()));
  REQUIRE(email);
  CHECK(email->subject == "Hi there");
}

TEST_CASE("NAME.txt.mustache, when present, is the text part") {
  TempDir dir;
  write_file(dir / "welcome.mustache", "---\nsubject: Hi\n---\n<p>html</p>");
  write_file(dir / "welcome.txt.mustache", "Plain & simple, {{lead.first_name}}");
  TemplateLibrary library(dir.path());
  auto email = library.render_email("welcome", lead_variables({{"first_name", "A&B"}}));
  REQUIRE(email);
  CHECK(email->text == "Plain & simple, A&B");
}

TEST_CASE("render errors are values naming the file: bad syntax, no subject, unknown front matter") {
  TempDir dir;
  write_file(dir / "broken.mustache", "---\nsubject: Hi\n---\n{{#lead}}never closed");
  write_file(dir / "nosubject.mustache", "<p>x</p>");
  write_file(dir / "typo.mustache", "---\nsubjct: Hi\n---\nx");
  TemplateLibrary library(dir.path());
  auto broken = library.render_email("broken", lead_variables({}));
  REQUIRE_FALSE(broken);
  CHECK(broken.error().where.file == "templates/broken.mustache");
  auto nosubject = library.render_email("nosubject", lead_variables({}));
  REQUIRE_FALSE(nosubject);
  CHECK(nosubject.error().message.find("needs a `subject`") != std::string::npos);
  auto typo = library.render_email("typo", lead_variables({}));
  REQUIRE_FALSE(typo);
  CHECK(typo.error().where.file == "templates/typo.mustache");
  CHECK(typo.error().where.line == 2);
  CHECK(typo.error().where.column == 1);
  CHECK(typo.error().format() ==
        "templates/typo.mustache:2:1: error: unknown front matter key \"subjct\" (known: subject, preheader, layout)");
  CHECK(typo.error().message.find("unknown front matter key \"subjct\"") != std::string::npos);
  auto missing = library.render_email("nope", lead_variables({}));
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "cannot read the file");
}

TEST_CASE("an email's partials, nested and indented, render alike from several threads at once") {
  TempDir dir;
  write_file(dir / "partials/row.mustache", "<td>{{lead.first_name}}</td>\n{{> cell}}\n");
  write_file(dir / "partials/cell.mustache", "<i>{{lead.first_name}}</i>\n");
  write_file(dir / "partials/broken.mustache", "{{#open}}never closed");
  write_file(dir / "table.mustache", "---\nsubject: Hi\n---\n<table>\n  {{> row}}\n{{> row}}\n</table>\n");
  write_file(dir / "bad.mustache", "---\nsubject: Hi\n---\n<p>{{#lead.vip}}{{> broken}}{{/lead.vip}}</p>\n");
  TemplateLibrary library(dir.path());
  const std::string expected =
      "<table>\n  <td>Ana</td>\n  <i>Ana</i>\n<td>Ana</td>\n<i>Ana</i>\n</table>\n";
  auto alone = library.render_email("table", lead_variables({{"first_name", "Ana"}}));
  REQUIRE(alone);
  CHECK(alone->html == expected);
  // A broken partial is an error only where it renders, and the same error every time.
  CHECK(library.render_email("bad", lead_variables({{"first_name", "Ana"}})));
  for (int i = 0; i < 2; ++i) {
    auto bad = library.render_email("bad", lead_variables({{"first_name", "Ana"}, {"vip", true}}));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().where.file == "templates/bad.mustache");
    CHECK(bad.error().message.find("partial `broken`") != std::string::npos);
  }
  // Engines render on their own threads with one library: no render changes what another sees.
  TemplateLibrary shared(dir.path());
  std::vector<std::string> results(4 * 200);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const std::string name = "Lead" + std::to_string(t * 200 + i);
        auto email = shared.render_email("table", lead_variables({{"first_name", name}}));
        results[static_cast<std::size_t>(t * 200 + i)] = email ? email->html : email.error().message;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t i = 0; i < results.size(); ++i) {
    std::string want = expected;
    for (std::size_t at = want.find("Ana"); at != std::string::npos; at = want.find("Ana", at + 1)) {
      want.replace(at, 3, "Lead" + std::to_string(i));
    }
    CHECK(results[i] == want);
  }
}

TEST_CASE("front matter is split off only when the file starts with ---") {
  auto split = split_front_matter("---\nsubject: x\n---\nbody\n");
  CHECK(split.yaml == "subject: x\n");
  CHECK(split.body == "body\n");
  CHECK(split.body_line == 4);
  auto none = split_front_matter("<p>---</p>");
  CHECK(none.yaml.empty());
  CHECK(none.body == "<p>---</p>");
}

TEST_CASE("a post template is plain text, front matter gives visibility and a scheduled time") {
  TempDir dir;
  write_file(dir / "launch.mustache",
             "---\nvisibility: direct\nscheduled_at: \"2026-03-02T09:00:00Z\"\n---\nHi {{lead.first_name}} & co: "
             "https://acme.example/?a=1&b=2\n");
  write_file(dir / "odd.mustache", "---\ncolour: red\n---\nx");
  TemplateLibrary library(dir.path());
  auto post = library.render_post("launch", lead_variables({{"first_name", "<Ana>"}}));
  REQUIRE(post);
  CHECK(post->text == "Hi <Ana> & co: https://acme.example/?a=1&b=2\n");  // not HTML: nothing escaped
  CHECK(post->visibility == "direct");
  CHECK(post->scheduled_at == "2026-03-02T09:00:00Z");
  auto odd = library.render_post("odd", lead_variables({}));
  REQUIRE_FALSE(odd);
  CHECK(odd.error().message == "unknown front matter key \"colour\" (known: visibility, scheduled_at, media)");
}

TEST_CASE("hostile templates: deep sections are refused, long ones compile in linear time") {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{{#a}}";
  for (int i = 0; i < 100000; ++i) deep += "{{/a}}";
  auto refused = nurture::templates::MustacheTemplate::compile(deep);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == "line 1: sections nest deeper than 100 levels");
  std::string wide;
  for (int i = 0; i < 100000; ++i) wide += "{{#a}}x\n{{/a}}\n";
  CHECK(nurture::templates::MustacheTemplate::compile(wide));  // was quadratic: a line count per section
  CHECK_FALSE(nurture::templates::MustacheTemplate::compile("{{" + std::string(1000000, ' ')));
}
