// How the daemon logs, from nurture.yaml's `log:`: text for people (the default), or JSON for collectors: one
// object per line, `{"time":…,"level":…,"message":…}`, the time in UTC and the message JSON-escaped (a reason may
// quote lead data).

#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "engine/cli/command.hpp"

namespace nurture::cli {

namespace {

class JsonMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& message, const std::tm&, spdlog::memory_buf_t& out) override {
    const std::string text =
        nlohmann::json(std::string(message.payload.data(), message.payload.size()))
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonMessage>(); }
};

}  // namespace

void configure_logging(const workflows::Config& config) {
  spdlog::set_level(spdlog::level::from_str(config.log_level == "warn" ? "warning" : config.log_level));
  if (config.log_format != "json") return;
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessage>('*').set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","message":%*})");
  spdlog::set_formatter(std::move(formatter));
}

}  // namespace nurture::cli
