#include "connectors/file/file_connector.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

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
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.flush();
    if (!out) {
      done(sdk::Result::retry(std::chrono::seconds(1), fmt::format("cannot write {}", temporary.string())));
      return;
    }
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
  factory.create = [](const sdk::ConnectorConfig& config, std::string&) -> std::unique_ptr<sdk::Connector> {
    return std::make_unique<FileConnector>(config.path("dir"));
  };
  return factory;
}

}  // namespace nurture::connectors
