// CSV for `nurture import`.
#include "text/csv.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  nurture::text::CsvReader reader(nurture::fuzz::as_text(data, size));
  std::size_t rows = 0;
  for (auto row = reader.next(); row && *row; row = reader.next()) {
    nurture::fuzz::require(++rows <= size + 1, "at most a row per byte");
  }
  return 0;
}
