#pragma once
// The columnar core: exact group sums over integer columns, the integer largest-remainder
// split of a pool over such sums, dictionary encoding of tag values, and PartialAggregate,
// a mergeable exact summary of records whose size is bounded by the number of distinct
// (pool, tags) groups rather than by the number of rows.

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apportion/decimal.hpp"
#include "apportion/engine.hpp"

APPORTION_BEGIN_NAMESPACE

// ---- Group sums and the exact split ----------------------------------------------------

// The exact sum of `weights` per group: row i adds weights[i] to group group_ids[i].
// Sums are accumulated in 128 bits, so no column of int64 weights can overflow them.
// A group id not below `n_groups` or a negative weight is std::invalid_argument naming the
// first such row: "group_ids[7]: 9 is not below n_groups (4)", "weights[3]: must not be
// negative (got -1)". Spans of different lengths are std::invalid_argument too.
std::vector<int128> group_sums(std::span<const std::uint32_t> group_ids, std::span<const std::int64_t> weights,
                               std::size_t n_groups);
// The same for signed ids (a negative id is out of range).
std::vector<int128> group_sums(std::span<const std::int64_t> group_ids, std::span<const std::int64_t> weights,
                               std::size_t n_groups);

// Splits `units` (>= 0) whole units over groups by their non-negative `sums`: every group
// takes the floor of units * sum / total, and the units left over go one each to the
// largest remainders, ties to the larger sum, then to the lower group id: the one
// largest-remainder rule of every split (allocate.hpp), the same as allocate_by_weights().
// All-zero sums are std::invalid_argument unless units is 0 (then every group gets 0).
std::vector<std::int64_t> split_units(std::uint64_t units, std::span<const int128> sums);

// Splits `pool` (a multiple of the positive `unit`) over groups by their sums; amounts in
// units of `unit`, summing exactly to pool / unit. A negative pool (a credit) splits as its
// magnitude, negated. std::invalid_argument for a bad unit, a pool that is not a multiple
// of it, or all-zero sums with a non-zero pool; OverflowError when pool / unit does not fit
// an int64_t.
std::vector<std::int64_t> split_pool(Decimal pool, Decimal unit, std::span<const int128> sums);

// ---- Dictionary encoding -----------------------------------------------------------------

// Interns strings to dense ids 0, 1, 2, ... in order of first appearance. Lookups take a
// string_view and allocate nothing; the strings live in one buffer.
class Dictionary {
 public:
  Dictionary() = default;
  // The id of `value`, adding it when new.
  std::uint32_t intern(std::string_view value) {
    const std::uint64_t h = hash(value);
    if (const std::uint32_t s = lookup(value, h)) return s - 1;
    return insert(value, h);
  }
  // The id of `value`, if present.
  std::optional<std::uint32_t> find(std::string_view value) const noexcept {
    if (const std::uint32_t s = lookup(value, hash(value))) return s - 1;
    return std::nullopt;
  }
  // The string of an id below size(). The view is valid until the next intern().
  std::string_view value(std::uint32_t id) const noexcept {
    return std::string_view(bytes_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  std::size_t size() const noexcept { return offsets_.size() - 1; }

  // A fast, well-mixed 64-bit hash of bytes (the one the dictionary uses).
  static std::uint64_t hash(std::string_view bytes) noexcept {
    constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
    std::uint64_t h = mix(bytes.size() ^ k0, k1);
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    while (n >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      h = mix(h ^ v, k1);
      p += 8;
      n -= 8;
    }
    if (n > 0) {
      std::uint64_t v = 0;
      std::memcpy(&v, p, n);
      h = mix(h ^ v ^ (static_cast<std::uint64_t>(n) << 56), k0);
    }
    return mix(h, k1 ^ 0x8ebc6af09c88c6e3ULL);
  }

 private:
  struct Slot {
    std::uint32_t id_plus_one = 0;  // 0: empty
    std::uint32_t check = 0;        // the hash's high half, to skip most comparisons
  };
  static std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
    __extension__ typedef unsigned __int128 u128;
    const u128 p = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
  }
  // id + 1 of `value`, or 0.
  std::uint32_t lookup(std::string_view value, std::uint64_t h) const noexcept {
    if (slots_.empty()) return 0;
    const std::size_t mask = slots_.size() - 1;
    const auto check = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot s = slots_[i];
      if (s.id_plus_one == 0) return 0;
      if (s.check == check) {
        const std::uint32_t begin = offsets_[s.id_plus_one - 1], end = offsets_[s.id_plus_one];
        if (end - begin == value.size() && std::memcmp(bytes_.data() + begin, value.data(), value.size()) == 0)
          return s.id_plus_one;
      }
    }
  }
  std::uint32_t insert(std::string_view value, std::uint64_t h);
  void grow();

  std::string bytes_;
  std::vector<std::uint32_t> offsets_{0};
  std::vector<std::uint64_t> hashes_;  // per id, for growing
  std::vector<Slot> slots_;            // open addressing, at most half full
};

// ---- Partial aggregates ------------------------------------------------------------------

// An exact partial aggregate of records: for every distinct (pool, tags) it keeps the
// exact sum of each measure (raw 128-bit fixed point, overflow checked: OverflowError) and
// the number of rows. Aggregates of shards merge into the aggregate of all rows whatever
// the order of rows and merges, and travel between processes through serialize().
// Memory is bounded by the number of groups and distinct strings, not by rows.
//
// Measures must not be negative (std::invalid_argument), so whether a sum overflows never
// depends on the order rows arrive in. A row adds each measure it has; a group's record
// has the measures some row of it had.
//
// `utilization` is a ratio (0 to 1), not an amount: a group's is the mean of its rows'
// weighted by their `gpu_seconds`, rounded half-even to 12 digits once, and the group also
// gets `gpu_seconds_used`, the exact sum of gpu_seconds x utilization (the GPU time used,
// which unit economics reads), unless the rows give one themselves; the plain mean of the
// rows when none of them with a utilization held GPU time. A group in which some row held
// GPU time without a utilization has neither (as a record without one would not). Its
// weighted sum holds while the group has under about 1.7 x 10^14 GPU-seconds.
class PartialAggregate {
 public:
  using TagView = std::pair<std::string_view, std::string_view>;
  using MeasureView = std::pair<std::string_view, Decimal>;

  PartialAggregate() = default;

  // Adds one row: its pool (none: a record for every step), tags (keys unique) and measures
  // (names unique, values non-negative). The row is added whole or not at all.
  void add(std::optional<std::string_view> pool, std::span<const TagView> tags, std::span<const MeasureView> measures);
  void add(const std::optional<std::string>& pool, const Tags& tags, const Amounts& measures);

  // Adds every group of `other` to this one; with `ids`, sets (*ids)[g] to the group here
  // that other's group g went into. Every sum is checked first: an OverflowError changes
  // nothing.
  void merge(const PartialAggregate& other, std::vector<std::uint32_t>* ids = nullptr);

  // One record per group, sorted by pool (none first), then tags, in canonical order; each
  // record's origin says "<source> (aggregated: N rows)". No ids.
  std::vector<Record> to_records(std::string_view source = "aggregate") const;

  // A compact, exact and versioned binary form; deserialize() reads it back (anything else
  // is std::invalid_argument).
  std::string serialize() const;
  static PartialAggregate deserialize(std::string_view bytes);

  // The record of group `g` (groups are numbered in the order they were first added), with
  // no origin; a group of no rows has no measures.
  Record group_record(std::uint32_t g) const;

  std::size_t groups() const noexcept { return rows_.size(); }
  std::uint64_t rows() const noexcept { return total_rows_; }

  // ---- The encoded interface, for fast paths (the CSV reader) ---------------------------
  std::uint32_t tag_key_id(std::string_view key) { return keys_.intern(key); }
  std::uint32_t tag_value_id(std::string_view value) { return values_.intern(value); }
  std::uint32_t measure_id(std::string_view name);
  // 0 for none, else 1 + the pool's id.
  std::uint32_t pool_id(std::optional<std::string_view> pool) { return pool ? pools_.intern(*pool) + 1 : 0; }
  // The group of an encoded key: the pool id, then (tag key id, tag value id) pairs in
  // ascending key id, each key at most once. Creates an empty group when new.
  std::uint32_t group(std::span<const std::uint32_t> key);
  // Adds one row to `group`: raw (Decimal::raw) non-negative measure values by measure id,
  // all checked before any is added.
  void add_to_group(std::uint32_t group, std::span<const std::pair<std::uint32_t, int128>> measures,
                    std::uint64_t rows = 1);

 private:
  void check_raw(std::uint32_t measure, int128 raw) const;
  Decimal ratio_mean(std::uint32_t group) const;  // the group's utilization

  Dictionary keys_, values_, pools_, measures_names_;
  Dictionary groups_;                  // encoded keys (as bytes) to group ids
  std::vector<std::uint64_t> rows_;    // per group
  std::vector<int128> sums_;           // group * stride_ + measure; utilization's: Σ raw u x raw gpu_seconds
  std::vector<std::uint8_t> present_;  // the same layout: some row had the measure
  // Per group, over the rows with a utilization: Σ raw gpu_seconds, Σ raw utilization, rows;
  // and the rows that held GPU time without one.
  struct RatioSums {
    int128 weight = 0, plain = 0;
    std::uint64_t rows = 0, unmeasured = 0;
  };
  std::vector<RatioSums> ratio_;
  std::optional<std::uint32_t> ratio_id_, weight_id_;  // the ids of utilization and gpu_seconds
  std::size_t stride_ = 0;
  std::uint64_t total_rows_ = 0;
  std::vector<std::uint32_t> scratch_;
};

APPORTION_END_NAMESPACE
