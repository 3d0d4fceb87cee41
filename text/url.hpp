#pragma once
// Links that leave nurture (a click's Location, a tracked link in an email) are parsed with Boost.URL first: only an
// absolute http(s) URL with a host passes, and a URL can never hold a space, CR, LF or other control.

#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace nurture::text {

struct HttpUrl {
  std::string url;   // as given (it parsed, so it is safe to put in a header)
  std::string host;  // lower-case
};

tl::expected<HttpUrl, std::string> parse_http_url(std::string_view text);

}  // namespace nurture::text
