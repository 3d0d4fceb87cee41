// The schemas are built as JSON here, next to the language they describe; a test validates every example
// workflow against the printed schema with an independent validator (python3-jsonschema) and checks that broken
// workflows are rejected. The loader stays the final word (it also checks what a schema cannot: targets exist,
// loops wait, zones exist).

#include "workflows/schema.hpp"

#include <nlohmann/json.hpp>

namespace nurture::workflows {

namespace {

using nlohmann::ordered_json;

ordered_json ref(const char* name) { return {{"$ref", std::string("#/$defs/") + name}}; }

// A schema document's head: a strict object under draft 2020-12.
ordered_json document(const std::string& name, const std::string& title) {
  return {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
          {"$id", "https://nurture.example/schema/v1/" + name + ".json"},
          {"title", title},
          {"type", "object"},
          {"additionalProperties", false}};
}

ordered_json strict_object(ordered_json properties, std::vector<std::string> required = {}) {
  ordered_json object = {{"type", "object"}, {"additionalProperties", false}, {"properties", std::move(properties)}};
  if (!required.empty()) object["required"] = required;
  return object;
}

ordered_json definitions() {
  ordered_json defs;
  defs["identifier"] = {{"type", "string"}, {"pattern", "^[a-z0-9][a-z0-9_-]*$"}};
  defs["eventType"] = {{"type", "string"}, {"pattern", "^[a-z0-9_.-]+$"}};
  defs["duration"] = {{"type", "string"}, {"pattern", "^[0-9]+[smhdw]$"},
                      {"description", "elapsed time: 30s, 15m, 2h, 3d, 1w"}};
  defs["signedDuration"] = {{"type", "string"}, {"pattern", "^[+-]?[0-9]+[smhdw]$"}};
  defs["clock"] = {{"type", "string"}, {"pattern", "^([01]?[0-9]|2[0-3]):[0-5][0-9]$"}};
  defs["scalar"] = {{"type", ordered_json::array({"string", "number", "boolean", "null"})}};
  defs["days"] = {{"oneOf", ordered_json::array(
                                {{{"type", "string"},
                                  {"pattern", "^(every day|daily|(sun|mon|tue|wed|thu|fri|sat)(-(sun|mon|tue|wed|thu|fri|sat))?)$"}},
                                 {{"type", "array"},
                                  {"items", {{"enum", {"sun", "mon", "tue", "wed", "thu", "fri", "sat"}}}},
                                  {"minItems", 1}}})}};
  ordered_json operators = {{"eq", ref("scalar")},
                            {"ne", ref("scalar")},
                            {"in", {{"type", "array"}, {"items", ref("scalar")}}},
                            {"not_in", {{"type", "array"}, {"items", ref("scalar")}}},
                            {"gt", {{"type", ordered_json::array({"number", "string"})}}},
                            {"gte", {{"type", ordered_json::array({"number", "string"})}}},
                            {"lt", {{"type", ordered_json::array({"number", "string"})}}},
                            {"lte", {{"type", ordered_json::array({"number", "string"})}}},
                            {"contains", ref("scalar")},
                            {"matches", {{"type", "string"}, {"description", "ECMAScript regex; (?i) in front: ignore case"}}},
                            {"exists", {{"type", "boolean"}}}};
  ordered_json operator_object = strict_object(operators);
  operator_object["minProperties"] = 1;
  operator_object["maxProperties"] = 1;
  defs["comparison"] = {{"oneOf", ordered_json::array({ref("scalar"), operator_object})}};
  defs["where"] = {{"type", "object"},
                   {"propertyNames", {{"pattern", "^prop\\..+$"}}},
                   {"additionalProperties", ref("comparison")}};
  ordered_json condition = strict_object({{"score", ref("comparison")},
                                          {"stage", {{"type", "string"}}},
                                          {"tag", {{"type", "string"}}},
                                          {"segment", {{"type", "string"}, {"pattern", "^[a-z0-9_-]{1,64}$"}}},
                                          {"event", ref("eventType")},
                                          {"within", ref("duration")},
                                          {"step", ref("identifier")},
                                          {"where", ref("where")},
                                          {"count", ref("comparison")},
                                          {"all", {{"type", "array"}, {"minItems", 1}, {"items", ref("condition")}}},
                                          {"any", {{"type", "array"}, {"minItems", 1}, {"items", ref("condition")}}},
                                          {"not", ref("condition")}});
  condition["patternProperties"] = {{"^attr\\..+$", ref("comparison")}};
  condition["minProperties"] = 1;
  condition["dependentRequired"] = {{"within", {"event"}}, {"step", {"event"}}, {"where", {"event"}},
                                    {"count", {"event"}}};
  defs["condition"] = condition;

  ordered_json steps;
  steps["email"] = strict_object({{"template", {{"type", "string"}}},
                                  {"connector", {{"type", "string"}}},
                                  {"to", {{"type", "string"}}}},
                                 {"template"});
  steps["post"] = strict_object({{"template", {{"type", "string"}}}, {"connector", {{"type", "string"}}}},
                                {"template", "connector"});
  steps["webhook"] = strict_object({{"connector", {{"type", "string"}}}, {"template", {{"type", "string"}}}},
                                   {"connector"});
  steps["handoff"] = strict_object({{"connector", {{"type", "string"}}}, {"note", {{"type", "string"}}}},
                                   {"connector"});
  steps["wait"] = ref("duration");
  ordered_json until_at = strict_object({{"at", ref("clock")}, {"days", ref("days")}}, {"at"});
  ordered_json until_attr = strict_object({{"attr", {{"type", "string"}}}, {"offset", ref("signedDuration")}},
                                          {"attr"});
  steps["wait_until"] = {{"oneOf", ordered_json::array({until_at, until_attr})}};
  steps["wait_for"] = strict_object({{"event", ref("eventType")}, {"where", ref("where")}, {"timeout", ref("duration")}},
                                    {"event", "timeout"});
  ordered_json branch_case = strict_object({{"if", ref("condition")}, {"goto", ref("identifier")}}, {"if", "goto"});
  ordered_json branch_else = strict_object({{"else", ref("identifier")}}, {"else"});
  steps["branch"] = {{"type", "array"},
                     {"minItems", 1},
                     {"items", {{"oneOf", ordered_json::array({branch_case, branch_else})}}}};
  steps["split"] = {{"type", "array"},
                    {"minItems", 1},
                    {"items", strict_object({{"weight", {{"type", "integer"}, {"minimum", 0}}},
                                             {"goto", ref("identifier")}},
                                            {"weight", "goto"})}};
  steps["score"] = {{"oneOf", ordered_json::array({{{"type", "number"}},
                                                   {{"type", "string"}, {"pattern", "^[+-]?[0-9]+(\\.[0-9]+)?$"}}})}};
  ordered_json set = strict_object({{"stage", {{"type", "string"}}},
                                    {"tag", {{"oneOf", ordered_json::array({{{"type", "string"}},
                                                                            {{"type", "array"}, {"items", {{"type", "string"}}}}})}}}});
  set["patternProperties"] = {{"^attr\\..+$", true}};
  set["minProperties"] = 1;
  steps["set"] = set;
  steps["exit"] = {{"oneOf", ordered_json::array({{{"type", "null"}}, strict_object({{"goal", {{"type", "string"}}}})})}};

  ordered_json step_properties = {{"id", ref("identifier")}, {"goto", ref("identifier")},
                                  {"on_timeout", ref("identifier")}};
  ordered_json one_action = ordered_json::array();
  for (const auto& [kind, schema] : steps.items()) {
    step_properties[kind] = schema;
    one_action.push_back({{"required", {kind}}});
  }
  ordered_json step = strict_object(step_properties);
  step["oneOf"] = one_action;
  step["dependentRequired"] = {{"on_timeout", {"wait_for"}}};
  defs["step"] = step;
  return defs;
}

}  // namespace

std::string workflow_schema() {
  ordered_json schema = document("workflow", "nurture workflow (v1)");
  schema["description"] = "One workflow per file in workflows/*.yaml; docs/workflows.md describes the language.";
  schema["required"] = {"workflow", "trigger", "steps"};
  schema["properties"] = {
      {"workflow", ref("identifier")},
      {"name", {{"type", "string"}}},
      {"description", {{"type", "string"}}},
      {"trigger", strict_object({{"event", ref("eventType")}, {"when", ref("condition")}}, {"event"})},
      {"reentry", {{"type", "string"}, {"pattern", "^(never|always|after [0-9]+[smhdw])$"}}},
      {"exit_when",
       {{"type", "array"},
        {"items", {{"oneOf", ordered_json::array({strict_object({{"event", ref("eventType")}, {"goal", {{"type", "string"}}}},
                                                                {"event"}),
                                                  strict_object({{"condition", ref("condition")},
                                                                 {"goal", {{"type", "string"}}}},
                                                                {"condition"})})}}}}},
      {"send_window", strict_object({{"days", ref("days")},
                                     {"hours", {{"type", "string"},
                                                {"pattern", "^([01]?[0-9]|2[0-4]):[0-5][0-9]-([01]?[0-9]|2[0-4]):[0-5][0-9]$"}}},
                                     {"timezone", {{"type", "string"}, {"description", "lead, or an IANA zone"}}},
                                     {"fallback", {{"type", "string"}}}})},
      {"max_late", ref("duration")},
      {"steps", {{"type", "array"}, {"minItems", 1}, {"items", ref("step")}}}};
  schema["$defs"] = definitions();
  return schema.dump(2);
}

std::string config_schema() {
  ordered_json connector = {{"type", "object"},
                            {"required", {"type"}},
                            {"properties", {{"type", {{"type", ordered_json::array({"string", "null"})}}}}},
                            {"additionalProperties", {{"type", ordered_json::array({"string", "number", "boolean"})}}}};
  const ordered_json frequency_cap = strict_object(
      {{"max", {{"type", "integer"}, {"minimum", 1}}}, {"per", {{"type", "string"}, {"description", "e.g. 7d"}}}},
      {"max", "per"});
  ordered_json schema = document("config", "nurture.yaml (v1)");
  schema["properties"] = {
      {"redis", {{"type", "string"}, {"description", "auto | redis://host:port/db | unix:///path | redis-cluster://..."}}},
      {"key_prefix", {{"type", "string"}}},
      {"partitions", {{"type", "integer"}, {"minimum", 1}}},
      {"events", strict_object({{"streams", {{"type", "integer"}, {"minimum", 1}}}})},
      {"sender", strict_object({{"from", {{"type", "string"}}},
                                {"reply_to", {{"type", "string"}}},
                                {"postal_address", {{"type", "string"}}},
                                {"unsubscribe_mailto", {{"type", "string"}}}},
                               {"from"})},
      {"tracking", strict_object({{"base_url", {{"type", "string"}}},
                                  {"listen", {{"type", "string"}}},
                                  {"secret_env", {{"type", "string"}}},
                                  {"allowed_hosts", {{"type", "array"}, {"items", {{"type", "string"}}}}}})},
      {"admin", strict_object({{"listen", {{"type", "string"}}}, {"token_env", {{"type", "string"}}}})},
      {"defaults", strict_object({{"email", {{"type", "string"}}}, {"timezone", {{"type", "string"}}}})},
      {"frequency_cap", strict_object({{"email", frequency_cap}, {"social", frequency_cap}})},
      {"workers", {{"type", "integer"}, {"minimum", 1}}},
      {"durability", {{"enum", ordered_json::array({"async", "replicated"})}}},
      {"log", strict_object({{"format", {{"enum", {"text", "json"}}}},
                             {"level", {{"enum", {"debug", "info", "warn", "error"}}}}})},
      {"attribution", strict_object({{"window", {{"type", "string"}, {"pattern", "^[0-9]+[smhdw]$"},
                                                 {"description", "revenue goes to the last send within this long"}}}},
                                    {"window"})},
      {"attributes", {{"type", "object"},
                      {"description", "declared lead attributes and their types (emit, import, admin API)"},
                      {"additionalProperties", {{"enum", {"string", "number", "boolean", "date", "email", "timezone"}}}}}},
      {"connectors", {{"type", "object"}, {"additionalProperties", connector}}}};
  return schema.dump(2);
}

std::string scoring_schema() {
  // A rule scores an event (optionally filtered by `where`) or an attribute (optionally compared, like a condition).
  ordered_json rule = {{"type", "object"},
                       {"additionalProperties", false},
                       {"required", {"points"}},
                       {"properties", {{"event", ref("eventType")},
                                       {"where", ref("where")},
                                       {"attr", {{"type", "string"}}},
                                       {"points", {{"type", "number"}}}}},
                       {"oneOf", ordered_json::array({{{"required", {"event"}}}, {{"required", {"attr"}}}})}};
  for (const char* op : {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "matches", "exists"}) {
    rule["properties"][op] = definitions()["comparison"]["oneOf"][1]["properties"][op];
  }
  ordered_json schema = document("scoring", "scoring.yaml (v1)");
  schema["properties"] = {
      {"rules", {{"type", "array"}, {"items", rule}}},
      {"decay", strict_object({{"half_life", ref("duration")}}, {"half_life"})},
      {"stages", {{"type", "object"},
                  {"description", "stage: condition, lowest first; a lead is in the highest stage whose condition holds"},
                  {"additionalProperties", ref("condition")}}}};
  schema["$defs"] = definitions();
  return schema.dump(2);
}

}  // namespace nurture::workflows
