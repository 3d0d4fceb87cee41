// Templates: front matter and Mustache, compiled and rendered in both escapings.
#include <nlohmann/json.hpp>

#include "templates/mustache.hpp"
#include "templates/template_library.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace nurture;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(fuzz::as_text(data, size));
  (void)templates::split_front_matter(input);
  static const nlohmann::json variables = {
      {"lead", {{"first_name", "Ana"}, {"plan", "pro"}, {"tags", {"a", "b"}}, {"website", "https://x.example"}}},
      {"items", {{{"name", "one"}}, {{"name", "two"}}}},
      {"unsubscribe_url", "https://t.acme.example/u/x"}};
  auto compiled = templates::MustacheTemplate::compile(input);
  if (!compiled) return 0;
  templates::MustachePartials partials({{"footer", "<p>{{lead.first_name}}</p>"}, {"self", "{{>self}}"}});
  (void)compiled->render(variables, &partials, templates::Escaping::html);
  (void)compiled->render(variables, &partials, templates::Escaping::none);
  return 0;
}
