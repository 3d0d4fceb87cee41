#pragma once
// Links that leave nurture (a click's Location, a tracked link in an email) are parsed with Boost.URL first: only an
// absolute http(s) URL with a host passes, and a URL can never hold a space, CR, LF or other control.

#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace nurture::text {

struct HttpUrl {
  std::string url;   // as given (it parsed, so it is safe to put in a header)
  std::string host;  // lower-case
};

tl::expected<HttpUrl, std::string> parse_http_url(std::string_view text);

// Where Redis is: `redis://host:port/db` (host default 127.0.0.1, port 6379, db 0), `unix:///path/redis.sock`, or
// `redis-cluster://host1:7000,host2:7001` (seed nodes of a Redis Cluster; any one that answers tells the rest).
// One reader for nurture.yaml's `redis:` (so `validate` refuses what `run` would) and for the connection itself.
struct RedisNode {
  std::string host;
  int port = 6379;
};
struct RedisAddress {
  std::string host;       // empty for a socket
  int port = 6379;
  std::string unix_path;  // empty for TCP
  int db = 0;
  std::vector<RedisNode> cluster_seeds;  // not empty: a Redis Cluster (host and port are the first seed's)
};
tl::expected<RedisAddress, std::string> parse_redis_url(std::string_view text);

}  // namespace nurture::text
