// Catalogs in the spec's catalog format (docs/fuzzing.md). Byte 0 and the next 8 bytes
// pick a tier and instants; the rest is catalog JSON. A catalog that reads must print
// (catalog_to_json) and read back to the same text, and every lookup and pricing call on it
// may fail only with a documented bad-input error.

#include <cstring>
#include <string>

#include "apportion/apportion.hpp"
#include "fuzz_common.hpp"

using namespace apportion;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const std::uint8_t pick = in.byte();
  unsigned char bytes[4];
  for (unsigned char& b : bytes) b = in.byte();
  std::uint32_t offset;
  std::memcpy(&offset, bytes, sizeof offset);
  const std::string_view text = in.rest();

  Catalog catalog;
  if (!fuzz::outcome([&] { catalog = parse_catalog(text); }).empty()) return 0;
  std::string printed;
  const std::string e1 = fuzz::outcome([&] { printed = catalog_to_json(catalog); });
  fuzz::check(e1.empty(), "catalog_to_json failed", e1);
  Catalog again;
  const std::string e2 = fuzz::outcome([&] { again = parse_catalog(printed); });
  fuzz::check(e2.empty(), "the printed catalog does not read back", e2 + "\n" + printed);
  fuzz::check(catalog_to_json(again) == printed, "the printed catalog reads back differently", printed);

  // Lookups between 2025 and about 2161, over intervals of up to ~136 years (in seconds).
  const Instant at = Instant::from_unix_seconds(1'735'689'600 + (pick & 0x80 ? offset : offset / 4096));
  const Interval interval(at, at + std::chrono::seconds(offset % (pick & 0x40 ? 4'000'000'000u : 100'000u)));
  for (const Sku& sku : catalog.skus()) {
    std::vector<std::string> tiers = sku.tiers();
    tiers.push_back("no-such-tier");
    for (const std::string& tier : tiers) {
      fuzz::outcome([&] { catalog.rate_at(sku.id, tier, at); });
      fuzz::outcome([&] { catalog.latest_rate(sku.id, tier); });
      fuzz::outcome([&] { catalog.rate_hours(sku.id, tier, interval); });
      fuzz::outcome([&] { catalog.average_rate(sku.id, tier, interval); });
      fuzz::outcome([&] { catalog.run_cost(sku.id, tier, Decimal(pick % 9), interval); });
    }
  }
  return 0;
}
