#include "connectors/plugin/plugin_loader.hpp"

#include <dlfcn.h>

#include <memory>
#include <vector>

#include <fmt/format.h>

#include "nurture/sdk/plugin.h"

namespace nurture::connectors {

namespace {

void on_result(void* context, const nurture_result* result) {
  std::unique_ptr<sdk::Completion> done(static_cast<sdk::Completion*>(context));
  sdk::Result r;
  r.kind = result->kind >= 0 && result->kind <= 3 ? static_cast<sdk::Result::Kind>(result->kind) : sdk::Result::Kind::failed;
  r.provider_id = result->provider_id ? result->provider_id : "";
  r.after = std::chrono::milliseconds(result->after_ms);
  r.reason = result->reason ? result->reason : "";
  (*done)(std::move(r));
}

class PluginConnector final : public sdk::Connector {
 public:
  PluginConnector(const nurture_connector_v1_t* table, void* instance) : table_(table), instance_(instance) {}
  ~PluginConnector() override { table_->destroy(instance_); }

  int max_in_flight() const override { return table_->max_in_flight ? table_->max_in_flight(instance_) : 0; }
  bool needs_mime() const override { return table_->needs_mime ? table_->needs_mime(instance_) != 0 : true; }

  void send(const sdk::Action& a, sdk::Completion done) override {
    std::vector<nurture_kv> headers;
    for (const auto& [name, value] : a.email.headers) headers.push_back({name.c_str(), value.c_str()});
    const nurture_action c{
        a.action_id.c_str(), a.lead_id.c_str(), static_cast<int>(a.channel), a.workflow.c_str(), a.step.c_str(),
        a.email.from.c_str(), a.email.to.c_str(), a.email.reply_to.c_str(), a.email.subject.c_str(),
        a.email.text.c_str(), a.email.html.c_str(), a.email.mime.c_str(), headers.data(), headers.size(),
        a.post.text.c_str(), a.post.visibility.c_str(), a.post.scheduled_at.c_str(), a.json_body.c_str(),
        a.lead_attrs.c_str(),
        std::chrono::duration_cast<std::chrono::milliseconds>(a.deadline.time_since_epoch()).count()};
    table_->send(instance_, &c, &on_result, new sdk::Completion(std::move(done)));
  }

 private:
  const nurture_connector_v1_t* table_;
  void* instance_;
};

}  // namespace

Expected<sdk::ConnectorFactory> load_connector_plugin(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) return fail(fmt::format("plugin {} does not exist", path.string()));
  void* library = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) return fail(fmt::format("cannot load plugin {}: {}", path.string(), ::dlerror()));
  auto entry = reinterpret_cast<nurture_connector_v1_fn>(::dlsym(library, "nurture_connector_v1"));
  if (entry == nullptr) {
    return fail(fmt::format("{} exports no `nurture_connector_v1`", path.string()), {},
                "build it with NURTURE_EXPORT_CONNECTOR from <nurture/sdk/plugin.hpp>");
  }
  const nurture_connector_v1_t* table = entry();
  if (table == nullptr || table->abi_version != NURTURE_CONNECTOR_ABI_VERSION) {
    return fail(fmt::format("{} speaks connector ABI v{}; this nurture speaks v{}", path.string(),
                            table ? table->abi_version : 0, NURTURE_CONNECTOR_ABI_VERSION),
                {}, "rebuild the plugin against this SDK");
  }
  if (!table->type || !table->create || !table->send || !table->destroy) {
    return fail(fmt::format("{}: its connector table lacks type, create, send or destroy", path.string()));
  }
  sdk::ConnectorFactory factory;
  factory.type = table->type;
  factory.doc = table->doc ? table->doc : "";
  for (std::size_t i = 0; i < table->key_count; ++i) {
    const nurture_config_key& key = table->keys[i];
    factory.keys.push_back({key.name ? key.name : "", static_cast<sdk::ConfigKey::Type>(key.type), key.required != 0,
                            key.default_value ? key.default_value : "", key.doc ? key.doc : ""});
  }
  factory.create = [table](const sdk::ConnectorConfig& config) -> sdk::Created {
    std::vector<nurture_kv> values;
    for (const auto& [key, value] : config.values) values.push_back({key.c_str(), value.c_str()});
    char buffer[512] = {0};
    void* instance = table->create(config.name.c_str(), values.data(), values.size(), config.base_dir.c_str(), buffer,
                                   sizeof(buffer));
    if (instance == nullptr) return fail(buffer[0] ? buffer : "the plugin could not create the connector");
    return std::make_unique<PluginConnector>(table, instance);
  };
  return factory;
}

}  // namespace nurture::connectors
