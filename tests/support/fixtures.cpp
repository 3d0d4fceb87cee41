#include "tests/support/fixtures.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace nurture::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string pattern = "/tmp/nurture-test-XXXXXX";
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

void write_campaign(const fs::path& dir, const CampaignFiles& files) {
  write_file(dir / "nurture.yaml", files.config);
  for (const auto& [name, text] : files.workflows) write_file(dir / "workflows" / (name + ".yaml"), text);
  for (const auto& [name, text] : files.templates) write_file(dir / "templates" / (name + ".mustache"), text);
}

workflows::Campaign load_campaign_or_fail(const fs::path& dir) {
  auto load = workflows::load_campaign(dir);
  std::string problems;
  for (const auto& d : load.diagnostics) problems += d.format() + "\n";
  REQUIRE_MESSAGE(load.ok(), problems);
  return std::move(load.campaign);
}

const char* const minimal_config = R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
connectors: { outbox: { type: file, dir: ./outbox } }
)";

std::string two_email_drip(const std::string& wait) {
  return fmt::format(R"(workflow: welcome
trigger: {{ event: lead.created }}
steps:
  - id: hello
    email: {{ template: welcome }}
  - wait: {}
  - id: tips
    email: {{ template: tips }}
)",
                     wait);
}

std::string stream_field(const engine::redis::RedisReply& entry, const std::string& field) {
  if (entry.elements.size() != 2) return {};
  const auto& flat = entry.elements[1].elements;
  for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
    if (flat[i].text == field) return flat[i + 1].text;
  }
  return {};
}

std::string email_template(const std::string& subject, const std::string& body) {
  return fmt::format(
      "---\nsubject: \"{}\"\n---\n{}\n<p>{{{{sender.postal_address}}}} "
      "<a href=\"{{{{unsubscribe_url}}}}\">Unsubscribe</a></p>\n",
      subject, body);
}

RedisServer::RedisServer(const fs::path& dir) {
  auto started = engine::redis::EmbeddedRedis::start(dir);
  if (!started) throw std::runtime_error("redis-server: " + started.error().message);
  server_ = std::move(*started);
}

std::unique_ptr<engine::redis::RedisConnection> RedisServer::connect() const {
  auto connection = engine::redis::RedisConnection::open(server_->url());
  if (!connection) throw std::runtime_error(connection.error().message);
  return std::move(*connection);
}

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

HttpReply http_get(int port, const std::string& path) { return http_request(port, "GET", path); }

HttpReply http_request(int port, const std::string& method, const std::string& path, const std::string& body,
                       const std::map<std::string, std::string>& headers) {
  HttpReply reply;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ::close(fd);
    return reply;
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (method != "GET") request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  request += "\r\n" + body;
  ::send(fd, request.data(), request.size(), 0);
  std::string response;
  char buffer[4096];
  ssize_t n;
  while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, static_cast<std::size_t>(n));
  ::close(fd);
  if (response.rfind("HTTP/1.1 ", 0) == 0) reply.status = std::stoi(response.substr(9, 3));
  const auto body_start = response.find("\r\n\r\n");
  if (body_start != std::string::npos) reply.body = response.substr(body_start + 4);
  std::size_t line = response.find("\r\n");
  while (line != std::string::npos && line < body_start) {
    const std::size_t next = response.find("\r\n", line + 2);
    const std::string header_line = response.substr(line + 2, next - line - 2);
    const auto colon = header_line.find(':');
    if (colon != std::string::npos) {
      std::string name = header_line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      reply.headers[name] = header_line.substr(header_line.find_first_not_of(' ', colon + 1));
    }
    line = next;
  }
  return reply;
}

namespace {
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
}  // namespace

SmtpSink::SmtpSink(const fs::path& dir, const SmtpSinkOptions& options) : dir_(dir) {
  fs::create_directories(dir_);
  port_ = free_tcp_port();
  std::vector<std::string> argv{"/usr/bin/python3", std::string(NURTURE_TEST_SUPPORT_DIR) + "/smtp_recorder.py",
                                "--port", std::to_string(port_), "--dir", dir_.string()};
  if (!options.tls_cert.empty()) {
    argv.insert(argv.end(), {"--tls-cert", options.tls_cert.string(), "--tls-key", options.tls_key.string()});
  }
  if (options.require_tls) argv.push_back("--require-tls");
  if (!options.auth.empty()) argv.insert(argv.end(), {"--auth", options.auth});
  process_ = std::make_unique<ChildProcess>(argv, dir_.parent_path() / "smtp_recorder.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!port_open(port_)) {
    if (!process_->running() || std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the SMTP recorder did not start: " +
                               read_file(dir_.parent_path() / "smtp_recorder.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<ReceivedMail> SmtpSink::messages() const {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().extension() == ".eml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<ReceivedMail> mails;
  for (const auto& file : files) {
    ReceivedMail mail;
    mail.raw = read_file(file);
    auto envelope = nlohmann::json::parse(read_file(fs::path(file).replace_extension(".json")), nullptr, false);
    if (!envelope.is_discarded()) {
      mail.mail_from = envelope.value("mail_from", "");
      mail.rcpt_to = envelope.value("rcpt_to", std::vector<std::string>{});
      mail.client_port = envelope.value("client_port", 0);
      mail.tls = envelope.value("tls", false);
      if (envelope.contains("auth") && envelope["auth"].is_string()) mail.auth = envelope["auth"];
    }
    mails.push_back(std::move(mail));
  }
  return mails;
}

std::vector<ReceivedMail> SmtpSink::wait_for(std::size_t count, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto mails = messages();
    if (mails.size() >= count || std::chrono::steady_clock::now() > deadline) return mails;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

HttpRecorder::HttpRecorder(const fs::path& dir) : dir_(dir) {
  fs::create_directories(dir_);
  port_ = free_tcp_port();
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{"/usr/bin/python3", std::string(NURTURE_TEST_SUPPORT_DIR) + "/http_recorder.py",
                               "--port", std::to_string(port_), "--dir", dir_.string()},
      dir_.parent_path() / "http_recorder.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!port_open(port_)) {
    if (!process_->running() || std::chrono::steady_clock::now() > deadline) {
      throw std::runtime_error("the HTTP recorder did not start: " + read_file(dir_.parent_path() / "http_recorder.log"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void HttpRecorder::script(const std::vector<ScriptedAnswer>& answers) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : answers) {
    list.push_back({{"status", a.status}, {"body", a.body}, {"headers", a.headers}, {"delay_ms", a.delay_ms}});
  }
  const nlohmann::json script = {{"start", requests().size()}, {"answers", list}};
  write_file(dir_ / "script.json.tmp", script.dump());
  fs::rename(dir_ / "script.json.tmp", dir_ / "script.json");
}

std::vector<RecordedRequest> HttpRecorder::requests() const {
  std::vector<RecordedRequest> out;
  std::ifstream in(dir_ / "requests.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    RecordedRequest r;
    r.method = j.value("method", "");
    r.path = j.value("path", "");
    r.body = j.value("body", "");
    r.headers = j.value("headers", std::map<std::string, std::string>{});
    out.push_back(std::move(r));
  }
  return out;
}

std::string RecordedRequest::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() &&
        std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return value;
    }
  }
  return {};
}

void make_test_certificate(const fs::path& dir) {
  fs::create_directories(dir);
  const int code = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                                "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout",
                                (dir / "key.pem").string(), "-out", (dir / "cert.pem").string()},
                               dir / "openssl.log");
  if (code != 0) throw std::runtime_error("openssl req failed: " + read_file(dir / "openssl.log"));
}

std::string header(const std::string& raw, const std::string& name) {
  const std::string head = raw.substr(0, raw.find("\r\n\r\n"));
  std::string lowered_name = name;
  std::transform(lowered_name.begin(), lowered_name.end(), lowered_name.begin(), ::tolower);
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(), ::tolower);
    if (key != lowered_name) continue;
    std::string value = line.substr(colon + 1);
    while (pos < head.size() && (head[pos] == ' ' || head[pos] == '\t')) {  // folded continuation
      std::size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      value += head.substr(pos, next - pos);
      pos = next + 2;
    }
    const auto start = value.find_first_not_of(' ');
    return start == std::string::npos ? "" : value.substr(start);
  }
  return {};
}

std::string decode_quoted_printable(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=' && i + 2 < text.size() + 1) {
      if (text.compare(i + 1, 2, "\r\n") == 0) {
        i += 2;
        continue;
      }
      if (i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
        out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string mime_part(const std::string& raw, const std::string& content_type) {
  const std::string marker = "Content-Type: " + content_type;
  const auto start = raw.find(marker);
  if (start == std::string::npos) return {};
  const auto body = raw.find("\r\n\r\n", start);
  const auto end = raw.find("\r\n--", body);
  return decode_quoted_printable(raw.substr(body + 4, end - body - 4));
}

}  // namespace nurture::testing
