/* The connector plugin ABI, version 1. C types only, so a plugin and the engine
 * need not share a compiler or a C++ standard library. A plugin exports one symbol:
 *
 *     const nurture_connector_v1_t* nurture_connector_v1(void);
 *
 * C++ plugins do not write this by hand: NURTURE_EXPORT_CONNECTOR in <nurture/sdk/plugin.hpp> builds it from an
 * ordinary sdk::ConnectorFactory. Strings passed in are valid for the duration of the call only. */
#ifndef NURTURE_SDK_PLUGIN_H
#define NURTURE_SDK_PLUGIN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NURTURE_CONNECTOR_ABI_VERSION 1

typedef struct nurture_kv {
  const char* key;
  const char* value;
} nurture_kv;

/* type: 0 string, 1 integer, 2 path, 3 url, 4 secret_env (the name of an environment variable) */
typedef struct nurture_config_key {
  const char* name;
  int type;
  int required;
  const char* default_value;
  const char* doc;
} nurture_config_key;

/* channel: 0 email, 1 social, 2 webhook */
typedef struct nurture_action {
  const char* action_id; /* stable and unique: the provider's idempotency key */
  const char* lead_id;
  int channel;
  const char* workflow;
  const char* step;
  const char* email_from;
  const char* email_to;
  const char* email_reply_to;
  const char* email_subject;
  const char* email_text;
  const char* email_html;
  const char* email_mime;
  const nurture_kv* email_headers;
  size_t email_header_count;
  const char* post_text;
  const char* post_visibility;
  const char* post_scheduled_at;
  const char* json_body;
  const char* lead_attrs; /* JSON object */
  long long deadline_unix_ms;
} nurture_action;

/* kind: 0 sent, 1 retry, 2 failed, 3 suppressed */
typedef struct nurture_result {
  int kind;
  const char* provider_id;
  long long after_ms;
  const char* reason;
} nurture_result;

/* Called exactly once per send, from any thread; the engine copies what it needs before returning. */
typedef void (*nurture_completion)(void* context, const nurture_result* result);

typedef struct nurture_connector_v1_t {
  int abi_version; /* NURTURE_CONNECTOR_ABI_VERSION */
  const char* type;
  const char* doc;
  const nurture_config_key* keys;
  size_t key_count;
  /* An instance, or NULL with a message written to error (at most error_size bytes, NUL included). */
  void* (*create)(const char* name, const nurture_kv* config, size_t config_count, const char* base_dir, char* error,
                  size_t error_size);
  void (*send)(void* instance, const nurture_action* action, nurture_completion done, void* context);
  void (*destroy)(void* instance);
  /* 0: asynchronous; 1: one send at a time (the engine gives the instance a thread of its own) */
  int (*max_in_flight)(void* instance);
  /* 1: it reads email_mime (SMTP-like); 0: it takes the parts and the engine need not compose the message.
     May be NULL: 1. */
  int (*needs_mime)(void* instance);
} nurture_connector_v1_t;

typedef const nurture_connector_v1_t* (*nurture_connector_v1_fn)(void);

#ifdef __cplusplus
}
#endif

#endif
