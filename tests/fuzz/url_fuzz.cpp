// Links: URL parsing, the hosts a template names, and link rewriting in rendered HTML.
#include <set>

#include "templates/html_to_text.hpp"
#include "templates/tracking.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "text/url.hpp"
#include "text/utf8.hpp"

using namespace nurture;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  if (auto url = text::parse_http_url(input)) {
    fuzz::require(!text::has_control(url->url) && url->url.find(' ') == std::string::npos,
                  "a URL that parses holds no space or control (it may become a Location)");
  }
  std::set<std::string> hosts;
  templates::collect_link_hosts(input, hosts);
  hosts.insert("acme.example");
  static const templates::TrackingLinks links{"https://t.acme.example", "secret"};
  const std::string tracked = templates::add_tracking(input, links, "ref", hosts);
  fuzz::require(tracked.size() >= input.size(), "tracking only adds");
  (void)templates::html_to_text(input);
  return 0;
}
