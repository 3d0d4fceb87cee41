// bench/smtp: messages/s of the smtp connector into postfix's smtp-sink, against postfix's own smtp-source into
// the same sink in the same run, same message size, same number of parallel connections (reused: smtp-source -d).
//   bench_smtp [MESSAGES] [CONNECTIONS]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "bench/support/bench_support.hpp"
#include "process/child.hpp"

#include "connectors/builtins.hpp"
#include "templates/mime.hpp"

using namespace nurture;
using Clock = std::chrono::steady_clock;

namespace {

int free_port() {
  // A port the kernel picks for a bound socket, released again: good enough for one benchmark run.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A tool of postfix's, its output dropped; it is killed when the benchmark ends.
process::Child spawn(const std::vector<std::string>& argv) {
  auto child = process::Child::spawn(argv, {"/dev/null", {}, SIGKILL, false});
  if (!child) {
    std::cerr << argv[0] << ": " << child.error().message << "\n";
    std::exit(1);
  }
  return std::move(*child);
}

bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return ok;
}

// A typical nurture email: multipart/alternative, ~4 kB of html.
std::string sample_message(int i) {
  templates::OutgoingEmail email;
  email.from = "Acme Team <hello@acme.example>";
  email.to = fmt::format("lead{}@example.com", i);
  email.subject = "Welcome aboard, Ana! Three tips for your first week";
  std::string html = "<html><body><h1>Welcome, Ana!</h1>";
  for (int p = 0; p < 24; ++p) {
    html += "<p>Thanks for signing up. Over the next days we will send you short emails to help you get started, "
            "with <a href=\"https://t.acme.example/t/c/abc/sig?u=https%3A%2F%2Facme.example\">links</a>.</p>\n";
  }
  html += "</body></html>";
  email.html = html;
  email.text = "Welcome, Ana! Thanks for signing up.";
  email.message_id = fmt::format("bench{}@acme.example", i);
  email.date = std::chrono::system_clock::now();
  email.list_unsubscribe_url = "https://t.acme.example/u/abc/sig";
  return templates::compose_mime(email).value();
}

}  // namespace

int main(int argc, char** argv) {
  const int messages = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int connections = argc > 2 ? std::atoi(argv[2]) : 4;
  if (::access("/usr/sbin/smtp-sink", X_OK) != 0 || ::access("/usr/sbin/smtp-source", X_OK) != 0) {
    std::cerr << "bench/smtp needs postfix's smtp-sink and smtp-source (apt-get install postfix)\n";
    return 3;
  }
  const int port = free_port();
  std::vector<std::string> sink{"/usr/sbin/smtp-sink"};
  if (::geteuid() == 0) sink.insert(sink.end(), {"-u", "nobody"});
  sink.insert(sink.end(), {fmt::format("127.0.0.1:{}", port), "256"});
  process::Child sink_process = spawn(sink);
  for (int i = 0; i < 200 && !port_open(port); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  std::vector<std::string> bodies;
  bodies.reserve(static_cast<std::size_t>(messages));
  for (int i = 0; i < messages; ++i) bodies.push_back(sample_message(i));
  const std::size_t size = bodies.front().size();

  // nurture's smtp connector, as the dispatcher drives it: send queues, results come back from the pool.
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto created = registry.create("smtp", "bench",
                                 {{"url", fmt::format("smtp://127.0.0.1:{}", port)},
                                  {"pool", std::to_string(connections)},
                                  {"tls", "off"}},
                                 "/");
  if (!created) {
    for (const auto& p : created.error()) std::cerr << p.key << ": " << p.format() << "\n";
    return 1;
  }
  auto connector = std::move(*created);
  std::mutex mutex;
  std::condition_variable all_done;
  int done = 0, sent = 0;
  const auto ours_start = Clock::now();
  const double ours_cpu_before = bench::process_cpu_s();
  // At most 1,024 handed over and unanswered (or the connector's max_in_flight()): its queue is bounded, and past it
  // a send is answered `retry` at once, as the dispatcher would then see.
  const int window = connector->max_in_flight() > 0 ? connector->max_in_flight() : 1024;
  for (int i = 0; i < messages; ++i) {
    {
      std::unique_lock lock(mutex);
      all_done.wait(lock, [&] { return i - done < window; });
    }
    sdk::Action action;
    action.action_id = fmt::format("bench{}", i);
    action.email.from = "Acme Team <hello@acme.example>";
    action.email.to = fmt::format("lead{}@example.com", i);
    action.email.mime = bodies[static_cast<std::size_t>(i)];
    connector->send(action, [&](sdk::Result result) {
      std::lock_guard lock(mutex);
      ++done;
      sent += result.kind == sdk::Result::Kind::sent;
      all_done.notify_one();
    });
  }
  {
    std::unique_lock lock(mutex);
    all_done.wait(lock, [&] { return done == messages; });
  }
  const double ours_s = std::chrono::duration<double>(Clock::now() - ours_start).count();
  const double ours_cpu_s = bench::process_cpu_s() - ours_cpu_before;

  // postfix's own load generator, same sink, same size, same parallel connections, connections reused.
  const auto source_start = Clock::now();
  process::Child source = spawn({"/usr/sbin/smtp-source", "-d", "-s", std::to_string(connections), "-m",
                              std::to_string(messages), "-l", std::to_string(size), "-f", "hello@acme.example", "-t",
                              "lead@example.com", fmt::format("127.0.0.1:{}", port)});
  const double children_before = bench::children_cpu_s();
  const int source_exit = source.wait(std::chrono::hours(1));
  const double source_cpu_s = bench::children_cpu_s() - children_before;
  const double source_s = std::chrono::duration<double>(Clock::now() - source_start).count();
  sink_process.stop(SIGTERM, std::chrono::seconds(10));

  const double ours_rate = messages / ours_s;
  const double source_rate = messages / source_s;
  std::cout << fmt::format("bench/smtp: {} messages of {} bytes, {} connections, into postfix smtp-sink\n\n", messages,
                           size, connections);
  std::cout << "| sender | sent | seconds | messages/s | CPU us/message |\n|---|---:|---:|---:|---:|\n";
  std::cout << fmt::format("| nurture smtp connector (libcurl, pool {}) | {} | {:.2f} | {:.0f} | {:.1f} |\n",
                           connections, sent, ours_s, ours_rate, ours_cpu_s * 1e6 / messages);
  std::cout << fmt::format("| postfix smtp-source -d -s {} | {} | {:.2f} | {:.0f} | {:.1f} |\n", connections,
                           source_exit == 0 ? messages : 0, source_s, source_rate, source_cpu_s * 1e6 / messages);
  std::cout << fmt::format("\nratio: nurture / smtp-source = {:.0f}% (goal >= 50%)\n", 100.0 * ours_rate / source_rate);
  return sent == messages ? 0 : 1;
}
