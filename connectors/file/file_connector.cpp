#include "connectors/file/file_connector.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

namespace nurture::connectors {

namespace fs = std::filesystem;

FileConnector::FileConnector(fs::path dir) : dir_(std::move(dir)) {}

namespace {
// A process killed in the middle of a write leaves its hidden `.NAME.PID.tmp`; a later process removes those whose
// writer is gone (the final file was never linked, so the action was not delivered and will be again).
void remove_orphaned_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.front() != '.' || entry.path().extension() != ".tmp") continue;
    const std::string stem = entry.path().stem().string();  // .NAME.PID
    const auto dot = stem.rfind('.');
    if (dot == std::string::npos) continue;
    const int pid = std::atoi(stem.c_str() + dot + 1);
    if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

// Writes `body` to `path` (created or truncated); 0, or the errno of the first failure (ENOSPC on a full disk,
// which a buffered stream would not tell).
int write_whole(const fs::path& path, const std::string& body) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  std::size_t written = 0;
  while (written < body.size()) {
    const ssize_t n = ::write(fd, body.data() + written, body.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return error;
    }
    written += static_cast<std::size_t>(n);
  }
  return ::close(fd) == 0 ? 0 : errno;
}
}  // namespace

void FileConnector::send(const sdk::Action& action, sdk::Completion done) {
  const std::string name = action.action_id + (action.channel == sdk::Channel::email ? ".eml" : ".json");
  const std::string& body = action.channel == sdk::Channel::email     ? action.email.mime
                            : action.channel == sdk::Channel::webhook ? action.json_body
                                                                      : action.post.text;
  std::error_code ec;
  if (!swept_) {
    fs::create_directories(dir_, ec);
    remove_orphaned_temporaries(dir_);
    swept_ = true;
  }
  // Write aside, then link into place: the final name appears complete or not at all, and link() fails with
  // EEXIST where the action was delivered before, which is how duplicates are told apart.
  const fs::path temporary = dir_ / fmt::format(".{}.{}.tmp", name, ::getpid());
  if (const int error = write_whole(temporary, body); error != 0) {
    fs::remove(temporary, ec);  // a partial file would only take more of a disk that may be full
    done(sdk::Result::retry(std::chrono::seconds(1),
                            fmt::format("cannot write {}: {}", temporary.string(), std::strerror(error))));
    return;
  }
  const fs::path final_path = dir_ / name;
  if (::link(temporary.c_str(), final_path.c_str()) != 0) {
    const int error = errno;
    fs::remove(temporary, ec);
    if (error == EEXIST) {
      ++duplicates_;
      done(sdk::Result::sent(name));
      return;
    }
    done(sdk::Result::retry(std::chrono::seconds(1), fmt::format("cannot create {}: {}", final_path.string(),
                                                                 std::strerror(error))));
    return;
  }
  fs::remove(temporary, ec);
  done(sdk::Result::sent(name));
}

sdk::ConnectorFactory file_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "file";
  factory.doc = "Writes each action as a file named by its action_id (.eml for email, .json otherwise).";
  factory.keys = {{"dir", sdk::ConfigKey::Type::path, true, "", "folder for the files, e.g. ./outbox"}};
  // The folder is created at the first send, so `nurture validate` writes nothing.
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    return std::make_unique<FileConnector>(config.path("dir"));
  };
  return factory;
}

}  // namespace nurture::connectors
