#pragma once
// Child processes, spawned one way for the whole project (the private redis-server, test daemons, benchmark
// tools): fork + exec, optionally dying with their parent (PR_SET_PDEATHSIG), reaped by whoever holds them.

#include "nurture/error.hpp"
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace nurture::process {

struct SpawnOptions {
  std::filesystem::path output;       // stdout and stderr are appended here; empty: inherited
  std::filesystem::path working_dir;  // empty: the parent's
  int parent_death_signal = 0;        // sent to the child when its parent dies; 0: none
  bool own_process_group = false;     // the terminal's Ctrl-C then reaches only the parent, which stops it in order
};

class Child {
 public:
  // argv[0] is looked up in PATH. The error says why the fork failed; an exec that fails exits the child with 127.
  static Expected<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& options = {});

  Child() = default;
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();  // a child still running is killed (SIGKILL) and reaped

  int pid() const { return pid_; }
  bool running();
  // The exit code (128 + N after signal N), or -1 when it is still running after `timeout`.
  int wait(std::chrono::milliseconds timeout);
  // Sends `signal`, then waits as wait() does.
  int stop(int signal, std::chrono::milliseconds timeout);

 private:
  int pid_ = -1;
  int exit_code_ = -1;
};

}  // namespace nurture::process
