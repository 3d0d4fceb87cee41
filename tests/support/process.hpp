#pragma once
// A child process for tests (process::Child, dying with the test): spawned with argv, stopped with a signal,
// reaped. Its stdout/stderr go to a file.

#include <filesystem>
#include <string>
#include <vector>

#include "process/child.hpp"

namespace nurture::testing {

class ChildProcess {
 public:
  ChildProcess(std::vector<std::string> argv, const std::filesystem::path& log_file,
               const std::filesystem::path& working_dir = {});
  ~ChildProcess();  // SIGKILL if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  int pid() const { return child_.pid(); }
  bool running() { return child_.running(); }
  // Sends `signal` and waits up to `timeout_ms` for the exit; returns the exit code (128+N for a signal N),
  // or -1 on timeout.
  int stop(int signal, int timeout_ms = 10000);
  int wait(int timeout_ms = 10000);

 private:
  process::Child child_;
};

// Runs a command to completion; returns its exit code. Output goes to `log_file`.
int run_command(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                const std::filesystem::path& working_dir = {});

std::string read_file(const std::filesystem::path& path);

}  // namespace nurture::testing
