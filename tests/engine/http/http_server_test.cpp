// The HTTP server at its limits: oversized requests are answered and closed, and running out of descriptors
// pauses accepting instead of ending it.

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/http/status_server.hpp"
#include "engine/runtime/metrics.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::engine;
using nurture::testing::http_get;
using nurture::testing::http_request;

namespace {

std::unique_ptr<http::StatusServer> echo_server(Metrics& metrics) {
  auto server = http::StatusServer::start("127.0.0.1:0", metrics, [](const http::HttpCall& call) {
    return std::optional<http::HttpAnswer>(http::HttpAnswer{200, std::to_string(call.body.size()) + "\n"});
  });
  REQUIRE(server);
  return std::move(*server);
}

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

TEST_CASE("a body past 1 MiB is answered 413 and headers past 16 KiB 431, the server goes on") {
  Metrics metrics;
  auto server = echo_server(metrics);
  CHECK(http_request(server->port(), "POST", "/x", std::string(2 << 20, 'x')).status == 413);
  CHECK(http_request(server->port(), "GET", "/x", {}, {{"X-Big", std::string(64 * 1024, 'h')}}).status == 431);
  CHECK(http_request(server->port(), "POST", "/x", std::string(1000, 'x')).body == "1000\n");
}

TEST_CASE("out of file descriptors, the server pauses accepting and takes connections again once some close") {
  Metrics metrics;
  auto server = echo_server(metrics);
  rlimit before{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &before) == 0);
  rlimit tight = before;
  tight.rlim_cur = 64;  // this test process: client and server sockets share the budget
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &tight) == 0);
  std::vector<int> idle;
  for (int i = 0; i < 200; ++i) {
    const int fd = connect_to(server->port());
    if (fd >= 0) idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the acceptor meets EMFILE meanwhile
  for (int fd : idle) ::close(fd);
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &before) == 0);
  int status = 0;
  for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
    status = http_get(server->port(), "/healthz").status;
    if (status != 200) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(status == 200);  // before the fix, accept() stopped for good at the first EMFILE
}

TEST_CASE("a handler waiting on a slow Redis does not stall /healthz or the I/O thread") {
  Metrics metrics;
  std::atomic<bool> release{false};
  auto server = http::StatusServer::start("127.0.0.1:0", metrics, [&](const http::HttpCall& call) {
    while (call.target == "/slow" && !release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return std::optional<http::HttpAnswer>(http::HttpAnswer{200, "done\n"});
  });
  REQUIRE(server);
  const int port = (*server)->port();
  std::thread slow([&] { CHECK(http_request(port, "GET", "/slow").body == "done\n"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the slow handler is running
  const auto started = std::chrono::steady_clock::now();
  CHECK(http_get(port, "/healthz").status == 200);  // before, it queued behind the handler on the one I/O thread
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
  release = true;
  slow.join();
}
