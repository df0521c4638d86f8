// The columnar core: group sums, the integer largest-remainder split and PartialAggregate.
// See apportion/columnar.hpp.

#include "apportion/columnar.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <type_traits>

#include "apportion/allocate.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

// ---- group_sums ---------------------------------------------------------------------------

template <class Id>
[[noreturn]] void bad_row(const Id* ids, const std::int64_t* weights, std::size_t begin, std::size_t end,
                          std::size_t n_groups) {
  for (std::size_t i = begin; i < end; ++i) {
    bool out_of_range = false;
    if constexpr (std::is_signed_v<Id>) out_of_range = ids[i] < 0;
    if (out_of_range || static_cast<std::uint64_t>(ids[i]) >= n_groups)
      throw std::invalid_argument("group_ids[" + std::to_string(i) + "]: " + std::to_string(ids[i]) +
                                  " is not below n_groups (" + std::to_string(n_groups) + ")");
    if (weights[i] < 0)
      throw std::invalid_argument("weights[" + std::to_string(i) + "]: must not be negative (got " +
                                  std::to_string(weights[i]) + ")");
  }
  throw std::logic_error("group_sums: a bad row went missing");
}

// Sums rows [0, n) into `lanes` accumulators per group (plus a dummy group n_groups that
// takes rows with an id out of range). Row i goes to lane i % Lanes, so consecutive rows
// of one group never wait on each other's stores. Bad rows are noted with cheap bit
// operations and located, block by block, only when there is one.
template <std::size_t Lanes, class Id>
void accumulate(const Id* ids, const std::int64_t* weights, std::size_t n, std::size_t n_groups, uint128* acc) {
  constexpr std::size_t block = 4096;
  const std::uint64_t limit = n_groups;
  for (std::size_t start = 0; start < n; start += block) {
    const std::size_t stop = std::min(n, start + block);
    std::uint64_t bad = 0;
    std::size_t i = start;
    for (; i + Lanes <= stop; i += Lanes) {
      for (std::size_t l = 0; l < Lanes; ++l) {
        const auto g = static_cast<std::uint64_t>(ids[i + l]);  // a negative id becomes huge
        const std::int64_t w = weights[i + l];
        const bool out = g >= limit;
        bad |= static_cast<std::uint64_t>(out) | (static_cast<std::uint64_t>(w) >> 63);
        const std::uint64_t slot = out ? limit : g;
        acc[slot * Lanes + l] += static_cast<std::uint64_t>(w);
      }
    }
    for (; i < stop; ++i) {
      const auto g = static_cast<std::uint64_t>(ids[i]);
      const std::int64_t w = weights[i];
      const bool out = g >= limit;
      bad |= static_cast<std::uint64_t>(out) | (static_cast<std::uint64_t>(w) >> 63);
      acc[(out ? limit : g) * Lanes] += static_cast<std::uint64_t>(w);
    }
    if (bad) [[unlikely]]
      bad_row(ids, weights, start, stop, n_groups);
  }
}

template <class Id>
std::vector<int128> group_sums_of(std::span<const Id> ids, std::span<const std::int64_t> weights, std::size_t n_groups) {
  if (ids.size() != weights.size())
    throw std::invalid_argument("group_ids and weights differ in length (" + std::to_string(ids.size()) + " and " +
                                std::to_string(weights.size()) + ")");
  std::vector<int128> out(n_groups);  // a size no vector can hold throws here, before any lane array
  if (n_groups == 0 && ids.empty()) return out;
  // Weights are below 2^63 and there are fewer than 2^64 rows, so no sum reaches 2^127.
  constexpr std::size_t lanes = 4;
  if (n_groups <= (std::size_t{1} << 16)) {
    std::vector<uint128> acc((n_groups + 1) * lanes);
    accumulate<lanes>(ids.data(), weights.data(), ids.size(), n_groups, acc.data());
    for (std::size_t g = 0; g < n_groups; ++g) {
      uint128 s = 0;
      for (std::size_t l = 0; l < lanes; ++l) s += acc[g * lanes + l];
      out[g] = static_cast<int128>(s);
    }
  } else {  // many groups: random access dominates, and one array keeps them in cache longer
    std::vector<uint128> acc(n_groups + 1);
    accumulate<1>(ids.data(), weights.data(), ids.size(), n_groups, acc.data());
    for (std::size_t g = 0; g < n_groups; ++g) out[g] = static_cast<int128>(acc[g]);
  }
  return out;
}

// ---- The split ------------------------------------------------------------------------------

// Group g's exact share of `units` is units * sums[g] / total: the largest-remainder rule of
// every split (allocate.hpp) on a_g = units * sums[g] over b = total, in int128 when the
// products fit, else in BigInt. None when they do not fit Int.
template <class Int>
std::optional<std::vector<std::int64_t>> split_in(std::uint64_t units, std::span<const int128> sums, uint128 total) {
  std::vector<Int> a(sums.size());
  for (std::size_t g = 0; g < sums.size(); ++g)
    if (!detail::multiply<Int>(Int(units), Int(sums[g]), a[g])) return std::nullopt;
  const std::vector<Int> floors =
      detail::largest_remainder_units<Int>(a, Int(static_cast<int128>(total)), Int(units), TieBreak{});
  std::vector<std::int64_t> out(floors.size());
  for (std::size_t g = 0; g < floors.size(); ++g) {
    if constexpr (std::is_same_v<Int, BigInt>) out[g] = floors[g].template convert_to<std::int64_t>();
    else out[g] = static_cast<std::int64_t>(floors[g]);  // a floor is at most units
  }
  return out;
}

}  // namespace

std::vector<int128> group_sums(std::span<const std::uint32_t> group_ids, std::span<const std::int64_t> weights,
                               std::size_t n_groups) {
  return group_sums_of(group_ids, weights, n_groups);
}

std::vector<int128> group_sums(std::span<const std::int64_t> group_ids, std::span<const std::int64_t> weights,
                               std::size_t n_groups) {
  return group_sums_of(group_ids, weights, n_groups);
}

std::vector<std::int64_t> split_units(std::uint64_t units, std::span<const int128> sums) {
  if (units > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    throw OverflowError("columnar split: more than 2^63 - 1 units");
  uint128 total = 0;
  for (std::size_t g = 0; g < sums.size(); ++g) {
    if (sums[g] < 0) throw std::invalid_argument("sums[" + std::to_string(g) + "]: must not be negative");
    total += static_cast<uint128>(sums[g]);
    if (total > static_cast<uint128>(Decimal::max_raw())) throw OverflowError("columnar split: the sums overflow");
  }
  if (total == 0) {
    if (units != 0) throw std::invalid_argument("weights sum to zero: there is nothing to split the pool by");
    return std::vector<std::int64_t>(sums.size(), 0);
  }
  if (auto fast = split_in<int128>(units, sums, total)) return std::move(*fast);
  return *split_in<BigInt>(units, sums, total);
}

std::vector<std::int64_t> split_pool(Decimal pool, Decimal unit, std::span<const int128> sums) {
  if (unit.signum() <= 0) throw std::invalid_argument("unit must be positive (got " + unit.to_string() + ")");
  if (!pool.is_multiple_of(unit))
    throw std::invalid_argument("pool " + pool.to_string() + " is not a multiple of the unit " + unit.to_string());
  const int128 signed_units = pool.raw() / unit.raw();
  const int128 magnitude = signed_units < 0 ? -signed_units : signed_units;
  if (magnitude > std::numeric_limits<std::int64_t>::max())
    throw OverflowError("pool " + pool.to_string() + " is more units of " + unit.to_string() + " than an int64 holds");
  std::vector<std::int64_t> out = split_units(static_cast<std::uint64_t>(magnitude), sums);
  if (signed_units < 0)
    for (std::int64_t& v : out) v = -v;
  return out;
}

// ---- PartialAggregate --------------------------------------------------------------------------

namespace {

std::string_view key_bytes(std::span<const std::uint32_t> key) {
  return {reinterpret_cast<const char*>(key.data()), key.size() * sizeof(std::uint32_t)};
}

std::vector<std::uint32_t> key_of_bytes(std::string_view bytes) {
  std::vector<std::uint32_t> key(bytes.size() / sizeof(std::uint32_t));
  std::memcpy(key.data(), bytes.data(), key.size() * sizeof(std::uint32_t));
  return key;
}

std::string with_thousands(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::uint32_t PartialAggregate::measure_id(std::string_view name) {
  const std::uint32_t id = measures_names_.intern(name);
  if (name == "utilization") ratio_id_ = id;
  if (name == "gpu_seconds") weight_id_ = id;
  if (id >= stride_) {  // a new measure: widen every group's block
    const std::size_t stride = id + 1, words = block_words(stride), flags = block_ - stride_ - 1;
    std::vector<int128> cells(groups() * words);
    for (std::size_t g = 0; g < groups(); ++g) {
      const int128* from = cells_.data() + g * block_;
      int128* to = cells.data() + g * words;
      std::copy(from, from + stride_, to);                                      // sums
      to[stride] = from[stride_];                                                // counts
      std::copy(from + stride_ + 1, from + stride_ + 1 + flags, to + stride + 1);  // flags: the same bits
    }
    cells_ = std::move(cells);
    stride_ = stride;
    block_ = words;
  }
  return id;
}

std::uint32_t PartialAggregate::group(std::span<const std::uint32_t> key) {
  const std::uint32_t g = groups_.intern(key_bytes(key));
  if (std::size_t{g} * block_ == cells_.size()) cells_.resize(cells_.size() + block_);
  return g;
}

std::vector<std::uint32_t> PartialAggregate::group_key(std::uint32_t g) const { return key_of_bytes(groups_.value(g)); }

void PartialAggregate::check_raw(std::uint32_t measure, int128 raw) const {
  if (raw < 0)
    throw std::invalid_argument(std::string(measures_names_.value(measure)) + ": must not be negative (got \"" +
                                Decimal::from_raw(raw).to_string() + "\")");
}

void PartialAggregate::add_to_group(std::uint32_t group, std::span<const std::pair<std::uint32_t, int128>> measures,
                                    std::uint64_t rows) {
  int128* sums = block(group);
  constexpr std::uint32_t none = 0xffffffffu;
  const std::uint32_t ratio_id = ratio_id_.value_or(none), weight_id = weight_id_.value_or(none);
  int128 weight = 0;  // the row's gpu_seconds, which weighs its utilization
  bool measured = false;
  if (ratio_id != none || weight_id != none)
    for (const auto& [m, raw] : measures) {
      if (m == weight_id) weight = raw;
      measured = measured || m == ratio_id;
    }
  const auto overflow = [&](std::uint32_t m) {
    return OverflowError(std::string(measures_names_.value(m)) + ": the aggregated sum is out of the decimal range");
  };
  RatioSums ratio;  // the group's, with this row's utilization; only read when it has one
  if (measured) ratio = ratio_of(group);
  for (const auto& [m, raw] : measures) {  // check everything first: the row is added whole or not at all
    check_raw(m, raw);
    int128 r;
    if (m == ratio_id) {
      if (raw > Decimal(1).raw())
        throw std::invalid_argument("utilization: must be between 0 and 1 (got " + Decimal::from_raw(raw).to_string() + ")");
      int128 used;
      if (__builtin_mul_overflow(raw, weight, &used) || __builtin_add_overflow(sums[m], used, &r) ||
          __builtin_add_overflow(ratio.weight, weight, &ratio.weight) ||
          __builtin_add_overflow(ratio.plain, raw, &ratio.plain))
        throw overflow(m);
      ratio.rows += rows;
    } else if (__builtin_add_overflow(sums[m], raw, &r)) {
      throw overflow(m);
    }
  }
  std::uint64_t total;
  if (__builtin_add_overflow(total_rows_, rows, &total)) throw OverflowError("aggregate: too many rows");
  for (const auto& [m, raw] : measures) {
    sums[m] += m == ratio_id ? raw * weight : raw;
    set_present(group, m);
  }
  if (measured) ratio_at(group) = ratio;
  add_counts(group, rows, !measured && weight > 0 ? rows : 0);
  total_rows_ = total;
}

void PartialAggregate::add(std::optional<std::string_view> pool, std::span<const TagView> tags,
                           std::span<const MeasureView> measures) {
  std::vector<std::pair<std::uint32_t, int128>> ms;
  ms.reserve(measures.size());
  for (const auto& [name, value] : measures) {
    if (value.signum() < 0)
      throw std::invalid_argument(std::string(name) + ": must not be negative (got \"" + value.to_string() + "\")");
    ms.emplace_back(measure_id(name), value.raw());
  }
  for (std::size_t i = 0; i < ms.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (ms[i].first == ms[j].first)
        throw std::invalid_argument("measure \"" + std::string(measures[i].first) + "\" given twice");
  std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
  pairs.reserve(tags.size());
  for (const auto& [k, v] : tags) pairs.emplace_back(tag_key_id(k), tag_value_id(v));
  std::sort(pairs.begin(), pairs.end());
  for (std::size_t i = 1; i < pairs.size(); ++i)
    if (pairs[i].first == pairs[i - 1].first)
      throw std::invalid_argument("tag key \"" + std::string(keys_.value(pairs[i].first)) + "\" given twice");
  std::vector<std::uint32_t> key{pool_id(pool)};
  for (const auto& [k, v] : pairs) {
    key.push_back(k);
    key.push_back(v);
  }
  // A new group cannot overflow, and an existing one is checked before anything is added.
  add_to_group(group(key), ms);
}

void PartialAggregate::add(const std::optional<std::string>& pool, const Tags& tags, const Amounts& measures) {
  std::vector<TagView> t;
  for (const auto& [k, v] : tags) t.emplace_back(k, v);
  std::vector<MeasureView> m;
  for (const auto& [k, v] : measures) m.emplace_back(k, v);
  add(pool ? std::optional<std::string_view>(*pool) : std::nullopt, t, m);
}

void PartialAggregate::merge(const PartialAggregate& other, std::vector<std::uint32_t>* ids) {
  if (&other == this) {
    const PartialAggregate copy = other;
    merge(copy, ids);
    return;
  }
  // Translate other's ids into ours, then check every sum before changing any.
  std::vector<std::uint32_t> key_map(other.keys_.size()), value_map(other.values_.size()),
      pool_map(other.pools_.size() + 1), measure_map(other.measures_names_.size());
  for (std::uint32_t i = 0; i < key_map.size(); ++i) key_map[i] = keys_.intern(other.keys_.value(i));
  for (std::uint32_t i = 0; i < value_map.size(); ++i) value_map[i] = values_.intern(other.values_.value(i));
  pool_map[0] = 0;
  for (std::uint32_t i = 0; i < other.pools_.size(); ++i) pool_map[i + 1] = pools_.intern(other.pools_.value(i)) + 1;
  for (std::uint32_t i = 0; i < measure_map.size(); ++i) measure_map[i] = measure_id(other.measures_names_.value(i));

  std::vector<std::vector<std::uint32_t>> keys(other.groups());
  for (std::uint32_t g = 0; g < other.groups(); ++g) {
    const std::vector<std::uint32_t> theirs = key_of_bytes(other.groups_.value(g));
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (std::size_t i = 1; i + 1 < theirs.size(); i += 2) pairs.emplace_back(key_map[theirs[i]], value_map[theirs[i + 1]]);
    std::sort(pairs.begin(), pairs.end());
    std::vector<std::uint32_t>& key = keys[g];
    key.push_back(pool_map[theirs[0]]);
    for (const auto& [k, v] : pairs) {
      key.push_back(k);
      key.push_back(v);
    }
    if (const auto mine = groups_.find(key_bytes(key))) {
      for (std::uint32_t m = 0; m < other.stride_; ++m) {
        int128 r;
        if (other.present(g, m) && __builtin_add_overflow(sum(*mine, measure_map[m]), other.sum(g, m), &r))
          throw OverflowError(std::string(other.measures_names_.value(m)) +
                              ": the aggregated sum is out of the decimal range");
      }
      int128 r;
      const RatioSums a = ratio_of(*mine), b = other.ratio_of(g);
      if (__builtin_add_overflow(a.weight, b.weight, &r) || __builtin_add_overflow(a.plain, b.plain, &r))
        throw OverflowError("utilization: the aggregated sum is out of the decimal range");
    }
  }
  std::uint64_t total;
  if (__builtin_add_overflow(total_rows_, other.total_rows_, &total)) throw OverflowError("aggregate: too many rows");
  if (ids) ids->resize(other.groups());
  for (std::uint32_t g = 0; g < other.groups(); ++g) {
    const std::uint32_t mine = group(keys[g]);
    if (ids) (*ids)[g] = mine;
    for (std::uint32_t m = 0; m < other.stride_; ++m)
      if (other.present(g, m)) {
        block(mine)[measure_map[m]] += other.sum(g, m);
        set_present(mine, measure_map[m]);
      }
    add_counts(mine, other.rows_of(g), other.unmeasured_of(g));
    if (g < other.ratio_.size()) {
      RatioSums& r = ratio_at(mine);
      r.weight += other.ratio_[g].weight;
      r.plain += other.ratio_[g].plain;
      r.rows += other.ratio_[g].rows;
    }
  }
  total_rows_ = total;
}

Decimal PartialAggregate::ratio_mean(std::uint32_t group) const {
  // Weighted: Σ raw u x raw w over Σ raw w is a raw utilization; plain: Σ raw u over rows.
  const RatioSums r = ratio_of(group);
  const Rational raw = r.weight > 0 ? Rational(BigInt(sum(group, *ratio_id_)), BigInt(r.weight))
                                    : Rational(BigInt(r.plain), BigInt(r.rows));
  return Decimal::from_rational(raw / BigInt(Decimal::one_raw), Decimal::from_raw(1));
}

Record PartialAggregate::group_record(std::uint32_t g) const {
  const std::vector<std::uint32_t> key = key_of_bytes(groups_.value(g));
  Record r;
  if (key[0] != 0) r.pool = std::string(pools_.value(key[0] - 1));
  std::vector<Tags::Pair> pairs;
  for (std::size_t i = 1; i + 1 < key.size(); i += 2)
    pairs.emplace_back(std::string(keys_.value(key[i])), std::string(values_.value(key[i + 1])));
  r.tags = Tags(std::move(pairs));
  for (std::uint32_t m = 0; m < stride_; ++m)
    if (present(g, m) && m != ratio_id_)
      r.measures.emplace(std::string(measures_names_.value(m)), Decimal::from_raw(sum(g, m)));
  if (ratio_id_ && present(g, *ratio_id_) && unmeasured_of(g) == 0) {
    r.measures.emplace("utilization", ratio_mean(g));
    // Σ raw u x raw w is the GPU time used at twice the scale: exact when the products
    // have at most 12 digits (whole seconds), else rounded half-even once.
    if (ratio_of(g).weight > 0)
      r.measures.emplace("gpu_seconds_used",
                         Decimal::from_rational(Rational(BigInt(sum(g, *ratio_id_)), BigInt(Decimal::one_raw)) /
                                                    BigInt(Decimal::one_raw),
                                                Decimal::from_raw(1)));
  }
  return r;
}

std::vector<Record> PartialAggregate::to_records(std::string_view source) const {
  std::vector<Record> out;
  out.reserve(groups());
  for (std::uint32_t g = 0; g < groups(); ++g) {
    const std::uint64_t rows = rows_of(g);
    if (rows == 0) continue;
    Record r = group_record(g);
    r.origin = std::string(source) + " (aggregated: " + with_thousands(rows) + (rows == 1 ? " row)" : " rows)");
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) {
    if (a.pool != b.pool) return a.pool < b.pool;  // none first
    return a.tags < b.tags;
  });
  return out;
}

// ---- Serialization -------------------------------------------------------------------------------
// "APNAGG" then version byte 2; then varints: the four dictionaries (count, then each
// string as length and bytes: tag keys, tag values, pools, measures), the group count, and
// per group: rows, key length and key ids, the number of measures present, and for each its
// id and 16 little-endian bytes of the raw sum (for utilization, then the 16 bytes of each
// of its weight and plain sums and the varint of its rows), then the varint of the rows that
// held GPU time without a utilization. (Version 1 summed utilization.)

namespace {

constexpr std::string_view magic = "APNAGG";
constexpr char version = 2;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_int128(std::string& out, int128 value) {
  auto raw = static_cast<uint128>(value);
  for (int b = 0; b < 16; ++b, raw >>= 8) out += static_cast<char>(static_cast<unsigned char>(raw & 0xff));
}

void put_dictionary(std::string& out, const Dictionary& d) {
  put_varint(out, d.size());
  for (std::uint32_t i = 0; i < d.size(); ++i) put_string(out, d.value(i));
}

class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  [[noreturn]] static void corrupt(const std::string& what) {
    throw std::invalid_argument("not a serialized PartialAggregate: " + what);
  }
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) corrupt("truncated");
      const auto b = static_cast<unsigned char>(bytes_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    corrupt("a number is too long");
  }
  std::uint32_t id_below(std::uint64_t limit, const char* what) {
    const std::uint64_t v = varint();
    if (v >= limit) corrupt(std::string(what) + " out of range");
    return static_cast<std::uint32_t>(v);
  }
  // 16 little-endian bytes, refused when negative.
  int128 non_negative_int128(const char* what) {
    const std::string_view raw_bytes = bytes(16);
    uint128 raw = 0;
    for (int b = 15; b >= 0; --b) raw = (raw << 8) | static_cast<unsigned char>(raw_bytes[static_cast<std::size_t>(b)]);
    if (static_cast<int128>(raw) < 0) corrupt(std::string("a negative ") + what);
    return static_cast<int128>(raw);
  }
  std::string_view bytes(std::uint64_t n) {
    if (n > bytes_.size() - pos_) corrupt("truncated");
    const std::string_view s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  bool done() const noexcept { return pos_ == bytes_.size(); }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
};

void read_dictionary(Reader& in, Dictionary& d, const char* what) {
  const std::uint64_t n = in.varint();
  for (std::uint64_t i = 0; i < n; ++i)
    if (d.intern(in.bytes(in.varint())) != i) Reader::corrupt(std::string("a repeated ") + what);
}

}  // namespace

std::string PartialAggregate::serialize() const {
  std::string out(magic);
  out += version;
  put_dictionary(out, keys_);
  put_dictionary(out, values_);
  put_dictionary(out, pools_);
  put_dictionary(out, measures_names_);
  put_varint(out, groups());
  for (std::uint32_t g = 0; g < groups(); ++g) {
    put_varint(out, rows_of(g));
    const std::vector<std::uint32_t> key = key_of_bytes(groups_.value(g));
    put_varint(out, key.size());
    for (std::uint32_t id : key) put_varint(out, id);
    std::uint64_t present = 0;
    for (std::uint32_t m = 0; m < stride_; ++m) present += this->present(g, m);
    put_varint(out, present);
    for (std::uint32_t m = 0; m < stride_; ++m) {
      if (!this->present(g, m)) continue;
      put_varint(out, m);
      put_int128(out, sum(g, m));
      if (m == ratio_id_) {
        const RatioSums r = ratio_of(g);
        put_int128(out, r.weight);
        put_int128(out, r.plain);
        put_varint(out, r.rows);
      }
    }
    put_varint(out, unmeasured_of(g));
  }
  return out;
}

PartialAggregate PartialAggregate::deserialize(std::string_view bytes) {
  if (bytes.substr(0, magic.size()) != magic) Reader::corrupt("no APNAGG header");
  if (bytes.size() < magic.size() + 1 || bytes[magic.size()] != version)
    Reader::corrupt("unsupported version (this library reads version 2)");
  Reader in(bytes.substr(magic.size() + 1));
  PartialAggregate a;
  read_dictionary(in, a.keys_, "tag key");
  read_dictionary(in, a.values_, "tag value");
  read_dictionary(in, a.pools_, "pool");
  Dictionary measures;
  read_dictionary(in, measures, "measure");
  for (std::uint32_t m = 0; m < measures.size(); ++m) a.measure_id(measures.value(m));
  const std::uint64_t n_groups = in.varint();
  std::vector<std::uint32_t> key;
  std::vector<std::pair<std::uint32_t, int128>> ms;
  for (std::uint64_t g = 0; g < n_groups; ++g) {
    const std::uint64_t rows = in.varint();
    const std::uint64_t length = in.varint();
    if (length % 2 != 1 || length > 2 * a.keys_.size() + 1) Reader::corrupt("a malformed group key");
    key.clear();
    key.push_back(in.id_below(a.pools_.size() + 1, "a pool id"));
    for (std::uint64_t i = 1; i < length; i += 2) {
      key.push_back(in.id_below(a.keys_.size(), "a tag key id"));
      key.push_back(in.id_below(a.values_.size(), "a tag value id"));
      if (i > 1 && key[i] <= key[i - 2]) Reader::corrupt("tag keys out of order");
    }
    const std::uint32_t group = a.group(key);
    if (group != g) Reader::corrupt("a repeated group");
    if (__builtin_add_overflow(a.total_rows_, rows, &a.total_rows_)) Reader::corrupt("too many rows");
    ms.clear();
    const std::uint64_t present = in.varint();
    for (std::uint64_t i = 0; i < present; ++i) {
      const std::uint32_t m = in.id_below(a.stride_, "a measure id");
      const int128 sum = in.non_negative_int128("sum");
      if (a.present(group, m)) Reader::corrupt("a repeated measure");
      a.block(group)[m] = sum;
      a.set_present(group, m);
      if (m == a.ratio_id_) {
        RatioSums& r = a.ratio_at(group);
        r.weight = in.non_negative_int128("sum");
        r.plain = in.non_negative_int128("sum");
        r.rows = in.varint();
        if (r.rows == 0 || r.rows > rows) Reader::corrupt("utilization rows out of range");
      }
    }
    const std::uint64_t unmeasured = in.varint();
    if (unmeasured > rows) Reader::corrupt("unmeasured rows out of range");
    a.add_counts(group, rows, unmeasured);
  }
  if (!in.done()) Reader::corrupt("bytes after the end");
  return a;
}

APPORTION_END_NAMESPACE
