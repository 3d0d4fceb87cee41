#include "bench/support/bench_support.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace nurture::bench {

namespace fs = std::filesystem;

namespace {
// Benchmarks print their results (JSON, tables) on stdout; the engine's log lines go to stderr.
const bool logs_to_stderr = [] {
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench"));
  return true;
}();
}  // namespace

TempCampaign::TempCampaign(const std::string& name, const std::map<std::string, std::string>& files)
    : dir_(fs::temp_directory_path() / fmt::format("nurture-bench-{}-{}", name, ::getpid())) {
  for (const auto& [path, text] : files) {
    fs::create_directories((dir_ / path).parent_path());
    std::ofstream(dir_ / path) << text;
  }
  auto load = workflows::load_campaign(dir_);
  if (!load.ok()) {
    for (const auto& d : load.diagnostics) std::cerr << d.format() << "\n";
    std::exit(1);
  }
  campaign_ = std::move(load.campaign);
}

TempCampaign::~TempCampaign() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::unique_ptr<engine::redis::RedisConnection> connect_or_exit(const std::string& url) {
  auto connection = engine::redis::RedisConnection::open(url);
  if (!connection) {
    std::cerr << connection.error().format() << "\n";
    std::exit(3);
  }
  return std::move(*connection);
}

void delete_keys(engine::redis::RedisConnection& redis, const std::string& prefix) {
  std::string cursor = "0";
  do {
    auto reply = redis.command({"SCAN", cursor, "MATCH", prefix + "*", "COUNT", "10000"});
    if (reply.elements.size() != 2) return;
    cursor = reply.elements[0].text;
    std::vector<engine::redis::Command> deletes;
    for (const auto& key : reply.elements[1].elements) deletes.push_back({"UNLINK", key.text});
    if (!deletes.empty()) redis.pipeline(deletes);
  } while (cursor != "0");
}

}  // namespace nurture::bench
