// Beast's small-server shape: an acceptor, one session object per connection kept alive by shared_from_this,
// every handler checks its error_code first, and a deadline on every read so an idle client cannot hold a slot.

#include "engine/http/status_server.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace nurture::engine::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Metrics& metrics, const RequestHandler& more, asio::thread_pool& workers)
      : stream_(std::move(socket)), metrics_(metrics), more_(more), workers_(workers) {}

  void start() { read(); }

 private:
  void read() {
    request_ = {};
    // Limits at the door: whatever a client sends, a request costs at most this much memory.
    parser_.emplace();
    parser_->header_limit(max_header_bytes);
    parser_->body_limit(max_body_bytes);
    stream_.expires_after(std::chrono::seconds(10));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return refuse(bhttp::status::payload_too_large, "the body is too large\n");
    if (ec == bhttp::error::header_limit) {
      return refuse(bhttp::status::request_header_fields_too_large, "the headers are too large\n");
    }
    if (ec) return;  // closed, timed out or garbage: drop the connection
    request_ = parser_->release();
    // Handlers may wait on Redis: they run on the worker pool, so a slow Redis never stalls the I/O thread that
    // serves /healthz, /readyz, /metrics and every other connection. The answer is written back on the I/O thread.
    const std::string target(request_.target());
    if (target == "/healthz" || target == "/readyz" || target == "/metrics") return answer();
    stream_.expires_never();  // the handler's time is not the client's
    asio::post(workers_, [self = shared_from_this()] {
      auto response = self->respond_safely();
      asio::post(self->stream_.get_executor(), [self, response] { self->write(response); });
    });
  }

  void answer() { write(respond_safely()); }

  std::shared_ptr<bhttp::response<bhttp::string_body>> respond_safely() {
    auto response = std::make_shared<bhttp::response<bhttp::string_body>>();
    try {
      *response = respond();
    } catch (const std::exception& e) {
      // A handler's bug must not take the daemon down with it: this request fails, the server goes on.
      spdlog::error("HTTP {}: {}", std::string(request_.target()), e.what());
      response->version(request_.version());
      response->keep_alive(false);
      response->result(bhttp::status::internal_server_error);
      response->set(bhttp::field::content_type, "text/plain; charset=utf-8");
      response->body() = "internal error\n";
      response->prepare_payload();
    }
    return response;
  }

  void write(std::shared_ptr<bhttp::response<bhttp::string_body>> response) {
    stream_.expires_after(std::chrono::seconds(10));
    bhttp::async_write(stream_, *response,
                       [self = shared_from_this(), response](beast::error_code ec, std::size_t) {
                         if (ec || !response->keep_alive()) {
                           beast::error_code ignored;
                           self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                           return;
                         }
                         self->read();
                       });
  }

  // Answers a request past a limit and closes: the rest of it is never read.
  void refuse(bhttp::status status, const char* why) {
    auto response = std::make_shared<bhttp::response<bhttp::string_body>>(status, 11);
    response->set(bhttp::field::content_type, "text/plain; charset=utf-8");
    response->keep_alive(false);
    response->body() = why;
    response->prepare_payload();
    bhttp::async_write(stream_, *response, [self = shared_from_this(), response](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  bhttp::response<bhttp::string_body> respond() {
    bhttp::response<bhttp::string_body> response;
    response.version(request_.version());
    response.keep_alive(request_.keep_alive());
    response.set(bhttp::field::server, "nurture");
    response.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    const std::string target(request_.target());
    const bool builtin = target == "/healthz" || target == "/readyz" || target == "/metrics";
    if (!builtin && more_) {
      HttpCall call{std::string(request_.method_string()), target, {}, request_.body()};
      for (const auto& field : request_) {
        std::string name(field.name_string());
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        call.headers[name] = std::string(field.value());
      }
      if (auto answer = more_(call)) {
        response.result(static_cast<bhttp::status>(answer->status));
        response.set(bhttp::field::content_type, answer->content_type);
        for (const auto& [name, value] : answer->headers) response.set(name, value);
        response.body() = std::move(answer->body);
        response.prepare_payload();
        return response;
      }
    }
    if (builtin && request_.method() != bhttp::verb::get && request_.method() != bhttp::verb::head) {
      response.result(bhttp::status::method_not_allowed);
      response.body() = "GET only\n";
    } else if (target == "/healthz") {
      response.result(bhttp::status::ok);
      response.body() = "ok\n";
    } else if (target == "/readyz") {
      const bool ready = metrics_.store_is_reachable();
      response.result(ready ? bhttp::status::ok : bhttp::status::service_unavailable);
      const std::string problem = metrics_.store_problem();
      response.body() = ready ? "ready\n" : "not ready: " + (problem.empty() ? "Redis does not answer" : problem) + "\n";
    } else if (target == "/metrics") {
      response.result(bhttp::status::ok);
      response.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response.body() = metrics_.render();
    } else {
      response.result(bhttp::status::not_found);
      response.body() = "not found\n";
    }
    response.prepare_payload();
    return response;
  }

  static constexpr std::uint32_t max_header_bytes = 16 * 1024;
  static constexpr std::uint64_t max_body_bytes = 1024 * 1024;

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::request<bhttp::string_body> request_;
  const Metrics& metrics_;
  const RequestHandler& more_;
  asio::thread_pool& workers_;
};

}  // namespace

struct StatusServer::Impl {
  asio::io_context io{1};
  // Handlers (tracking, webhooks, admin), which may wait on Redis. One thread: they share a Redis connection.
  asio::thread_pool workers{1};
  tcp::acceptor acceptor{io};
  const Metrics* metrics = nullptr;
  RequestHandler more;
  std::thread thread;

  asio::steady_timer pause{io};

  // The acceptor never gives up: out of descriptors (EMFILE/ENFILE) or any other error, it says so, waits a
  // moment (the connections that hold descriptors time out meanwhile) and accepts again. Only closing it stops it.
  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;  // stopping
      if (ec) {
        spdlog::warn("HTTP: cannot accept a connection ({}); trying again in 100 ms", ec.message());
        pause.expires_after(std::chrono::milliseconds(100));
        pause.async_wait([this](beast::error_code waited) {
          if (!waited) accept();
        });
        return;
      }
      std::make_shared<Session>(std::move(socket), *metrics, more, workers)->start();
      accept();
    });
  }
};

Expected<std::unique_ptr<StatusServer>> StatusServer::start(const std::string& listen,
                                                                             const Metrics& metrics,
                                                                             RequestHandler more) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return fail(fmt::format("\"{}\" is not host:port", listen));
  std::unique_ptr<StatusServer> server(new StatusServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.metrics = &metrics;
  impl.more = std::move(more);
  beast::error_code ec;
  const auto address = asio::ip::make_address(listen.substr(0, colon), ec);
  if (ec) return fail(fmt::format("\"{}\": {}", listen, ec.message()));
  int port = 0;
  try {
    port = std::stoi(listen.substr(colon + 1));
  } catch (const std::exception&) {
    return fail(fmt::format("\"{}\": the port is not a number", listen));
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(fmt::format("cannot listen on {}: {}", listen, ec.message()));
  impl.accept();
  impl.thread = std::thread([&impl] { impl.io.run(); });
  return server;
}

StatusServer::~StatusServer() {
  if (!impl_) return;
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->workers.join();  // handlers still running finish; their answers are not written (the I/O loop stopped)
}

int StatusServer::port() const { return impl_->acceptor.local_endpoint().port(); }

}  // namespace nurture::engine::http
