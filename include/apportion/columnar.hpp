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
#include "apportion/dictionary.hpp"
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

  std::size_t groups() const noexcept { return groups_.size(); }
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
  // The encoded key of group `g`, and the text of a tag value id in it.
  std::vector<std::uint32_t> group_key(std::uint32_t g) const;
  std::string_view tag_value(std::uint32_t id) const noexcept { return values_.value(id); }
  // The number of measures (ids below it), and a hint that group `g` is added to next.
  std::size_t measures() const noexcept { return measures_names_.size(); }
  void prefetch_group(std::uint32_t g) const noexcept {
    if (g < groups()) __builtin_prefetch(block(g));
  }
  // Adds one row to `group`: raw (Decimal::raw) non-negative measure values by measure id,
  // all checked before any is added.
  void add_to_group(std::uint32_t group, std::span<const std::pair<std::uint32_t, int128>> measures,
                    std::uint64_t rows = 1);

 private:
  void check_raw(std::uint32_t measure, int128 raw) const;
  Decimal ratio_mean(std::uint32_t group) const;  // the group's utilization

  Dictionary keys_, values_, pools_, measures_names_;
  Dictionary groups_;  // encoded keys (as bytes) to group ids
  // Each group's cells in one block: the sums of its measures (utilization's: Σ raw u x raw
  // gpu_seconds), a word of counts (its rows in the low half; in the high half, the rows
  // that held GPU time without a utilization), then a bit per measure some row had. A row
  // added touches one block: summing a million groups misses the cache once a row, not
  // once per array.
  std::vector<int128> cells_;
  std::size_t block_ = 1;  // words a group: block_words(stride_)
  static std::size_t block_words(std::size_t stride) noexcept { return stride + 1 + (stride + 127) / 128; }
  int128* block(std::uint32_t g) noexcept { return cells_.data() + std::size_t{g} * block_; }
  const int128* block(std::uint32_t g) const noexcept { return cells_.data() + std::size_t{g} * block_; }
  int128 sum(std::uint32_t g, std::uint32_t m) const noexcept { return block(g)[m]; }
  bool present(std::uint32_t g, std::uint32_t m) const noexcept {
    return (static_cast<uint128>(block(g)[stride_ + 1 + m / 128]) >> (m % 128)) & 1;
  }
  void set_present(std::uint32_t g, std::uint32_t m) noexcept {
    int128& word = block(g)[stride_ + 1 + m / 128];
    word = static_cast<int128>(static_cast<uint128>(word) | uint128{1} << (m % 128));
  }
  std::uint64_t rows_of(std::uint32_t g) const noexcept { return static_cast<std::uint64_t>(static_cast<uint128>(block(g)[stride_])); }
  std::uint64_t unmeasured_of(std::uint32_t g) const noexcept {
    return static_cast<std::uint64_t>(static_cast<uint128>(block(g)[stride_]) >> 64);
  }
  // Counts never carry from the low half: a group's rows are at most total_rows_, checked.
  void add_counts(std::uint32_t g, std::uint64_t rows, std::uint64_t unmeasured) noexcept {
    int128& word = block(g)[stride_];
    word = static_cast<int128>(static_cast<uint128>(word) + rows + (static_cast<uint128>(unmeasured) << 64));
  }
  // Per group, over the rows with a utilization: Σ raw gpu_seconds, Σ raw utilization,
  // rows. Held only once some row has a utilization (ratio_of reads zeros before).
  struct RatioSums {
    int128 weight = 0, plain = 0;
    std::uint64_t rows = 0;
  };
  std::vector<RatioSums> ratio_;
  RatioSums ratio_of(std::uint32_t g) const noexcept { return g < ratio_.size() ? ratio_[g] : RatioSums{}; }
  RatioSums& ratio_at(std::uint32_t g) {
    if (g >= ratio_.size()) ratio_.resize(groups());
    return ratio_[g];
  }
  std::optional<std::uint32_t> ratio_id_, weight_id_;  // the ids of utilization and gpu_seconds
  std::size_t stride_ = 0;
  std::uint64_t total_rows_ = 0;
  std::vector<std::uint32_t> scratch_;
};

APPORTION_END_NAMESPACE
