// The columnar split: one pass over the rows sums weights per group in 128-bit integers,
// then the pool is split over the groups by the library's largest-remainder rule, in
// integer arithmetic (no Rational per row, nor per group when the sums fit 64 bits).

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "detail.hpp"

using apportion::BigInt;
using apportion::Decimal;
using namespace apn::detail;

namespace {

__extension__ typedef unsigned __int128 uint128;

// Group g's exact share of `units` is units * sums[g] / total = quotient[g] + remainder[g] / total.
// Int is uint128 when every product fits it (total < 2^64, units < 2^63), else BigInt.
template <class Int>
void shares(std::uint64_t units, const std::vector<uint128>& sums, uint128 total, std::vector<std::uint64_t>& quotient,
            std::vector<Int>& remainder) {
  const Int divisor = Int(total);
  for (std::size_t g = 0; g < sums.size(); ++g) {
    const Int product = Int(units) * Int(sums[g]);
    quotient[g] = static_cast<std::uint64_t>(product / divisor);
    remainder[g] = product % divisor;
  }
}

// Gives the leftover units one each to the groups with the largest remainders; ties go to
// the larger weight, then to the lower group id (the order allocate_by_weights uses).
template <class Int>
void hand_out(std::uint64_t leftover, const std::vector<uint128>& sums, const std::vector<Int>& remainder,
              std::vector<std::uint64_t>& quotient) {
  if (leftover == 0) return;
  std::vector<std::size_t> candidates;
  for (std::size_t g = 0; g < sums.size(); ++g)
    if (remainder[g] != 0) candidates.push_back(g);
  if (leftover > candidates.size()) throw std::logic_error("columnar split: leftover units out of range");
  const auto before = [&](std::size_t a, std::size_t b) {
    if (remainder[a] != remainder[b]) return remainder[a] > remainder[b];
    if (sums[a] != sums[b]) return sums[a] > sums[b];
    return a < b;
  };
  const auto cut = candidates.begin() + static_cast<std::ptrdiff_t>(leftover);
  std::nth_element(candidates.begin(), cut, candidates.end(), before);
  for (auto it = candidates.begin(); it != cut; ++it) quotient[*it] += 1;
}

template <class Int>
void split(std::uint64_t units, const std::vector<uint128>& sums, uint128 total, std::vector<std::uint64_t>& quotient) {
  std::vector<Int> remainder(sums.size());
  shares(units, sums, total, quotient, remainder);
  std::uint64_t assigned = 0;
  for (std::uint64_t q : quotient) assigned += q;  // each q <= units and their sum too
  hand_out(units - assigned, sums, remainder, quotient);
}

}  // namespace

extern "C" {

int apn_split_columnar(int64_t* out_amounts, const char* pool, const char* unit, const uint32_t* group_ids,
                       const int64_t* weights, size_t n_rows, size_t n_groups) {
  return guarded([&] {
    require(out_amounts, "out_amounts");
    require(group_ids, "group_ids");
    require(weights, "weights");
    const Decimal amount = decimal_arg(pool, "pool");
    const Decimal step = unit_arg(unit, "unit");
    if (n_groups == 0) throw Failure(APN_EINVAL, "n_groups: must be positive");
    if (!amount.is_multiple_of(step))
      throw Failure(APN_EINVAL, "pool: " + amount.to_string() + " is not a multiple of the unit " + step.to_string());
    const apportion::int128 signed_units = amount.raw() / step.raw();
    const apportion::int128 magnitude = signed_units < 0 ? -signed_units : signed_units;
    if (magnitude > std::numeric_limits<std::int64_t>::max())
      throw Failure(APN_EOVERFLOW, "pool: " + amount.to_string() + " is more units of " + step.to_string() +
                                       " than an int64_t holds");

    // Weights are below 2^63 and there are fewer than 2^64 rows, so no sum can reach 2^127.
    std::vector<uint128> sums(n_groups);
    for (size_t i = 0; i < n_rows; ++i) {
      const std::uint32_t g = group_ids[i];
      const std::int64_t w = weights[i];
      if (g >= n_groups) [[unlikely]]
        throw Failure(APN_EINVAL, "group_ids[" + std::to_string(i) + "]: " + std::to_string(g) +
                                      " is not below n_groups (" + std::to_string(n_groups) + ")");
      if (w < 0) [[unlikely]]
        throw Failure(APN_EINVAL, "weights[" + std::to_string(i) + "]: must not be negative (got " +
                                      std::to_string(w) + ")");
      sums[g] += static_cast<uint128>(w);
    }
    uint128 total = 0;
    for (uint128 s : sums) total += s;
    if (total == 0) throw Failure(APN_ESPEC, "weights: all zero, nothing to split the pool by");

    const auto units = static_cast<std::uint64_t>(magnitude);
    std::vector<std::uint64_t> quotient(n_groups);
    if (total <= std::numeric_limits<std::uint64_t>::max())
      split<uint128>(units, sums, total, quotient);
    else
      split<BigInt>(units, sums, total, quotient);
    const bool negative = signed_units < 0;
    for (size_t g = 0; g < n_groups; ++g) {
      const auto q = static_cast<std::int64_t>(quotient[g]);
      out_amounts[g] = negative ? -q : q;
    }
    return APN_OK;
  });
}

}  // extern "C"
