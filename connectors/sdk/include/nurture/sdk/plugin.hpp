#pragma once
// Write a connector plugin in C++ with the ordinary SDK types; this header turns it into the C ABI of plugin.h:
//
//   #include <nurture/sdk/plugin.hpp>
//   nurture::sdk::ConnectorFactory my_factory();   // type, doc, keys, create -> your sdk::Connector
//   NURTURE_EXPORT_CONNECTOR(my_factory)
//
// Build it as a shared library against the installed SDK (find_package(nurture), nurture::connector_sdk) and list it
// in nurture.yaml: `{type: plugin, path: /opt/nurture/libmine.so, ...your keys}`.

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "nurture/sdk/connector.hpp"
#include "nurture/sdk/plugin.h"

namespace nurture::sdk::plugin {

inline const char* text(const char* s) { return s ? s : ""; }

inline Action from_c(const nurture_action& a) {
  Action action;
  action.action_id = text(a.action_id);
  action.lead_id = text(a.lead_id);
  action.channel = static_cast<Channel>(a.channel);
  action.workflow = text(a.workflow);
  action.step = text(a.step);
  action.email = {text(a.email_from), text(a.email_to), text(a.email_reply_to), text(a.email_subject),
                  text(a.email_text), text(a.email_html), {}, text(a.email_mime)};
  for (size_t i = 0; i < a.email_header_count; ++i) {
    action.email.headers.emplace_back(text(a.email_headers[i].key), text(a.email_headers[i].value));
  }
  action.post.text = text(a.post_text);
  action.post.visibility = text(a.post_visibility);
  action.post.scheduled_at = text(a.post_scheduled_at);
  action.json_body = text(a.json_body);
  action.lead_attrs = text(a.lead_attrs);
  action.deadline = std::chrono::system_clock::time_point(std::chrono::milliseconds(a.deadline_unix_ms));
  return action;
}

// The factory and its C view, built once per plugin.
struct Exported {
  ConnectorFactory factory;
  std::vector<nurture_config_key> keys;
  nurture_connector_v1_t table{};

  explicit Exported(ConnectorFactory f) : factory(std::move(f)) {
    for (const auto& key : factory.keys) {
      keys.push_back({key.name.c_str(), static_cast<int>(key.type), key.required ? 1 : 0, key.default_value.c_str(),
                      key.doc.c_str()});
    }
    table.abi_version = NURTURE_CONNECTOR_ABI_VERSION;
    table.type = factory.type.c_str();
    table.doc = factory.doc.c_str();
    table.keys = keys.data();
    table.key_count = keys.size();
  }
};

template <ConnectorFactory (*make)()>
struct Export {
  static Exported& exported() {
    static Exported e(make());
    return e;
  }

  static void* create(const char* name, const nurture_kv* config, size_t count, const char* base_dir, char* error,
                      size_t error_size) {
    ConnectorConfig c;
    c.name = text(name);
    for (size_t i = 0; i < count; ++i) c.values[text(config[i].key)] = text(config[i].value);
    c.base_dir = text(base_dir);
    std::string message;
    std::unique_ptr<Connector> connector;
    try {
      auto created = exported().factory.create(c);
      if (created) {
        connector = std::move(*created);
      } else {  // the C ABI carries one line: the message, and the fix after it
        message = created.error().message;
        if (!created.error().hint.empty()) message += " (" + created.error().hint + ")";
      }
    } catch (const std::exception& e) {
      message = e.what();
    }
    if (!connector && error && error_size > 0) {
      if (message.empty()) message = "the plugin could not create the connector";
      std::strncpy(error, message.c_str(), error_size - 1);
      error[error_size - 1] = '\0';
    }
    return connector.release();
  }

  // No exception may cross the C boundary: one thrown by the plugin's send becomes a retry of that action.
  static void send(void* instance, const nurture_action* action, nurture_completion done, void* context) {
    auto answer = [done, context](Result r) {
      const nurture_result c{static_cast<int>(r.kind), r.provider_id.c_str(), static_cast<long long>(r.after.count()),
                             r.reason.c_str()};
      done(context, &c);
    };
    try {
      static_cast<Connector*>(instance)->send(from_c(*action), answer);
    } catch (const std::exception& e) {
      answer(Result::retry(std::chrono::seconds(30), std::string("the plugin threw: ") + e.what()));
    } catch (...) {
      answer(Result::retry(std::chrono::seconds(30), "the plugin threw"));
    }
  }

  static void destroy(void* instance) { delete static_cast<Connector*>(instance); }
  static int max_in_flight(void* instance) { return static_cast<Connector*>(instance)->max_in_flight(); }
  static int needs_mime(void* instance) { return static_cast<Connector*>(instance)->needs_mime() ? 1 : 0; }

  static const nurture_connector_v1_t* table() {
    Exported& e = exported();
    e.table.create = &create;
    e.table.send = &send;
    e.table.destroy = &destroy;
    e.table.max_in_flight = &max_in_flight;
    e.table.needs_mime = &needs_mime;
    return &e.table;
  }
};

}  // namespace nurture::sdk::plugin

#define NURTURE_EXPORT_CONNECTOR(make_factory)                                              \
  extern "C" __attribute__((visibility("default"))) const nurture_connector_v1_t* nurture_connector_v1(void) { \
    return ::nurture::sdk::plugin::Export<&make_factory>::table();                         \
  }
