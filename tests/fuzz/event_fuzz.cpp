// The event wire format (XADD fields) and the JSON form of the admin API and simulate's events.jsonl.
#include "engine/core/event.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "text/utf8.hpp"

using namespace nurture;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = fuzz::as_text(data, size);
  if (!input.empty() && input.front() == '{') {
    if (auto fields = engine::fields_from_json_object(input)) (void)engine::parse_event(*fields, "1-0");
    return 0;
  }
  const auto p = fuzz::pieces<6>(input);
  engine::StreamFields fields{{"type", p[0]}, {"lead", p[1]}};
  if (!p[2].empty()) fields["at"] = p[2];
  if (!p[3].empty()) fields["attrs"] = p[3];
  if (!p[4].empty()) fields["props"] = p[4];
  if (!p[5].empty()) fields["id"] = p[5];
  auto event = engine::parse_event(fields, "1700000000000-0");
  if (!event) {
    fuzz::require(text::is_valid_utf8(event.error()), "a refusal reason is UTF-8");
    return 0;
  }
  fuzz::require(text::is_valid_utf8(event->lead) && !text::has_control(event->lead), "a lead id is clean UTF-8");
  auto again = engine::parse_event(engine::to_stream_fields(*event), "1700000000000-0");
  fuzz::require(again.has_value(), "an accepted event round-trips through its stream fields");
  return 0;
}
