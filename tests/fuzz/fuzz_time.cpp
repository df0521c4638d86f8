// Instant (docs/fuzzing.md). Byte 0 picks a mode:
//   even: the rest is RFC 3339 text; an instant read must print and read back to itself.
//   odd:  the next 8 bytes are nanoseconds since the epoch; any instant must print, and
//         the text must read back to the same instant.

#include <cstring>
#include <string>

#include "apportion/time.hpp"
#include "fuzz_common.hpp"

using namespace apportion;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  Instant t;
  if (in.byte() % 2 == 0) {
    const std::string_view text = in.rest();
    if (!fuzz::outcome([&] { t = Instant::parse(text); }).empty()) return 0;
  } else {
    unsigned char bytes[8];
    for (unsigned char& b : bytes) b = in.byte();
    std::int64_t ns;
    std::memcpy(&ns, bytes, sizeof ns);
    t = Instant::from_unix_nanos(ns);
  }
  std::string text;
  const std::string e1 = fuzz::outcome([&] { text = t.to_string(); });
  fuzz::check(e1.empty(), "to_string failed", std::to_string(t.unix_nanos()) + " " + e1);
  Instant back;
  const std::string e2 = fuzz::outcome([&] { back = Instant::parse(text); });
  fuzz::check(e2.empty() && back == t, "parse(to_string(t)) != t", text + " " + e2);
  return 0;
}
