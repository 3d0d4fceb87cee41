#include "tests/support/process.hpp"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace nurture::testing {

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_file,
                           const std::filesystem::path& working_dir) {
  auto child = process::Child::spawn(argv, {log_file, working_dir, SIGKILL, false});
  if (!child) throw std::runtime_error(child.error().message);
  child_ = std::move(*child);
}

ChildProcess::~ChildProcess() = default;  // the Child kills and reaps one still running

int ChildProcess::wait(int timeout_ms) { return child_.wait(std::chrono::milliseconds(timeout_ms)); }

int ChildProcess::stop(int signal, int timeout_ms) { return child_.stop(signal, std::chrono::milliseconds(timeout_ms)); }

int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                const std::filesystem::path& working_dir) {
  ChildProcess child(argv, log_file, working_dir);
  return child.wait(60000);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace nurture::testing
