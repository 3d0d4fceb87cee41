// Starting redis-server as a child: fork + exec with PR_SET_PDEATHSIG, so even a kill -9 of the engine takes
// its private Redis down with it (the AOF keeps what was committed). A socket path longer than sun_path allows
// moves to the runtime dir, and DIR/.nurture/redis.path says where.

#include "engine/store/redis/embedded_redis.hpp"

#include <signal.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "engine/store/redis/redis_connection.hpp"

namespace nurture::engine::redis {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_socket_path = sizeof(sockaddr_un::sun_path) - 1;

fs::path choose_socket(const fs::path& state_dir, bool& indirect) {
  fs::path direct = state_dir / "redis.sock";
  indirect = direct.string().size() > max_socket_path;
  if (!indirect) return direct;
  const char* runtime = std::getenv("XDG_RUNTIME_DIR");
  fs::path base = runtime && *runtime ? fs::path(runtime) : fs::temp_directory_path();
  return base / fmt::format("nurture-{:016x}.sock", std::hash<std::string>{}(state_dir.string()));
}

// The process that started the server of this directory, if it still runs.
bool owner_alive(const fs::path& state_dir) {
  std::ifstream in(state_dir / "owner.pid");
  pid_t pid = 0;
  if (!(in >> pid) || pid <= 0) return false;
  return pid == ::getpid() || ::kill(pid, 0) == 0;
}

void wait_until_gone(const fs::path& socket) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && RedisConnection::open("unix://" + socket.string())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

fs::path embedded_socket_path(const fs::path& state_dir) {
  std::ifstream indirect(state_dir / "redis.path");
  std::string line;
  if (indirect && std::getline(indirect, line) && !line.empty()) return line;
  if (fs::exists(state_dir / "redis.sock")) return state_dir / "redis.sock";
  return {};
}

Expected<std::unique_ptr<EmbeddedRedis>> EmbeddedRedis::start(const fs::path& state_dir_in,
                                                                                 Options options) {
  const fs::path state_dir = fs::absolute(state_dir_in);
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) return fail(fmt::format("cannot create {}: {}", state_dir.string(), ec.message()));

  bool indirect = false;
  const fs::path socket = choose_socket(state_dir, indirect);
  if (fs::exists(socket)) {
    if (auto orphan = RedisConnection::open("unix://" + socket.string())) {
      if (owner_alive(state_dir)) {
        return fail(fmt::format("a Redis is already serving {} (is another `nurture run` using this "
                                          "directory?)", socket.string()));
      }
      // Its owner died (kill -9) and the server is still on its way down: let it finish, flushing the AOF.
      (*orphan)->command({"SHUTDOWN"});
      wait_until_gone(socket);
    }
    fs::remove(socket, ec);  // left behind by a crash
  }

  std::vector<std::string> args = {"redis-server",
                                   "--port", "0",
                                   "--unixsocket", socket.string(),
                                   "--unixsocketperm", "700",
                                   "--dir", state_dir.string(),
                                   "--save", "",
                                   "--appendonly", options.append_only ? "yes" : "no",
                                   "--appendfsync", "everysec",
                                   "--logfile", (state_dir / "redis.log").string(),
                                   "--daemonize", "no",
                                   // Values up to 128 bytes keep lead hashes compact listpacks.
                                   "--hash-max-listpack-value", "128"};
  // It dies with its owner (SIGTERM: it flushes the AOF), and keeps the terminal's Ctrl-C for the engine, which
  // stops it in order.
  auto child = process::Child::spawn(args, {{}, {}, SIGTERM, true});
  if (!child) return tl::unexpected(child.error());

  std::unique_ptr<EmbeddedRedis> server(new EmbeddedRedis());
  server->server_ = std::move(*child);
  server->socket_ = socket;
  server->url_ = "unix://" + socket.string();
  std::ofstream(state_dir / "owner.pid") << ::getpid() << "\n";
  if (indirect) {
    server->path_file_ = state_dir / "redis.path";
    std::ofstream(server->path_file_) << socket.string() << "\n";
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (!server->server_.running()) {
      return fail(fmt::format("redis-server exited at start (is it installed? see {})",
                                        (state_dir / "redis.log").string()));
    }
    if (fs::exists(socket)) {
      auto connection = RedisConnection::open(server->url_);
      // While loading the AOF, Redis answers LOADING: wait until it serves.
      if (connection && (*connection)->command({"PING"}).type == RedisReply::Type::status) return server;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return fail("redis-server did not start within 20 s");
}

EmbeddedRedis::~EmbeddedRedis() {
  // Redis writes its AOF and exits; a server that does not within a minute is killed (the Child's destructor).
  server_.stop(SIGTERM, std::chrono::minutes(1));
  std::error_code ec;
  if (!path_file_.empty()) fs::remove(path_file_, ec);
  fs::remove(socket_, ec);
}

void EmbeddedRedis::kill_hard() { server_.stop(SIGKILL, std::chrono::seconds(10)); }

}  // namespace nurture::engine::redis
