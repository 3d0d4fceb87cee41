#include "text/url.hpp"

#include <algorithm>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace nurture::text {

tl::expected<HttpUrl, std::string> parse_http_url(std::string_view text) {
  if (text.size() > 8192) return tl::unexpected(std::string("URL longer than 8192 bytes"));
  auto parsed = boost::urls::parse_uri(text);  // a URI: scheme required, fragment allowed
  if (!parsed) return tl::unexpected("not a URL: " + parsed.error().message());
  const boost::urls::url_view& url = *parsed;
  std::string scheme(url.scheme());
  std::transform(scheme.begin(), scheme.end(), scheme.begin(), [](unsigned char c) { return std::tolower(c); });
  if (scheme != "http" && scheme != "https") return tl::unexpected("scheme `" + scheme + "` is not http or https");
  std::string host(url.encoded_host());
  if (host.empty()) return tl::unexpected(std::string("URL has no host"));
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  return HttpUrl{std::string(text), std::move(host)};
}

}  // namespace nurture::text
