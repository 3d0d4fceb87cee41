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

namespace {

// `host:port` of one seed node; the port is required (cluster nodes rarely listen on 6379).
tl::expected<RedisNode, std::string> parse_cluster_seed(std::string_view seed) {
  const std::string shown(seed);
  const std::string as_url = "redis://" + shown;  // outlives the view parse_uri returns
  auto parsed = boost::urls::parse_uri(as_url);
  if (!parsed || parsed->has_userinfo() || !parsed->encoded_path().empty() || parsed->has_query() ||
      parsed->has_fragment() || parsed->host().empty()) {
    return tl::unexpected("seed \"" + shown + "\" is not host:port");
  }
  if (!parsed->has_port() || parsed->port_number() == 0) {
    return tl::unexpected("seed \"" + shown + "\" needs a port from 1 to 65535, e.g. 10.0.0.1:7000");
  }
  return RedisNode{std::string(parsed->host_address()), parsed->port_number()};
}

tl::expected<RedisAddress, std::string> parse_cluster_url(std::string_view seeds) {
  if (seeds.empty()) return tl::unexpected(std::string("name at least one seed node, e.g. redis-cluster://10.0.0.1:7000"));
  RedisAddress address;
  while (true) {
    const auto comma = seeds.find(',');
    auto seed = parse_cluster_seed(seeds.substr(0, comma));
    if (!seed) return tl::unexpected(seed.error());
    address.cluster_seeds.push_back(std::move(*seed));
    if (comma == std::string_view::npos) break;
    seeds.remove_prefix(comma + 1);
  }
  address.host = address.cluster_seeds.front().host;
  address.port = address.cluster_seeds.front().port;
  return address;
}

}  // namespace

tl::expected<RedisAddress, std::string> parse_redis_url(std::string_view text) {
  auto refuse = [](std::string why) { return tl::unexpected(std::move(why)); };
  if (text.size() > 4096) return refuse("longer than 4096 bytes");
  constexpr std::string_view cluster_scheme = "redis-cluster://";
  if (text.starts_with(cluster_scheme)) return parse_cluster_url(text.substr(cluster_scheme.size()));
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return refuse("not a URL (redis://host:port/db, unix:///path/to/redis.sock or redis-cluster://host:port,...)");
  const boost::urls::url_view& url = *parsed;
  const std::string scheme(url.scheme());
  RedisAddress address;
  if (scheme == "unix") {
    address.unix_path = std::string(url.path());
    if (address.unix_path.empty() || address.unix_path.front() != '/') {
      return refuse("a unix:// URL needs an absolute socket path, e.g. unix:///run/redis/redis.sock");
    }
    return address;
  }
  if (scheme != "redis") return refuse("the scheme must be redis://, unix:// or redis-cluster://");
  address.host = url.host().empty() ? "127.0.0.1" : std::string(url.host());
  if (url.has_port()) {
    if (url.port_number() == 0) return refuse("the port must be a number from 1 to 65535");
    address.port = url.port_number();
  }
  const std::string path(url.path());
  if (path.size() > 1) {
    const std::string number = path.substr(1);
    if (number.size() > 2 || !std::all_of(number.begin(), number.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return refuse("the path must be a database number, e.g. redis://127.0.0.1:6379/0");
    }
    address.db = std::stoi(number);
  }
  return address;
}

}  // namespace nurture::text
