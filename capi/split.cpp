// The columnar split: the library's columnar core sums the weights per group in 128-bit
// integers and splits the pool over the groups by its integer largest-remainder rule.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "apportion/columnar.hpp"
#include "detail.hpp"

using apportion::Decimal;
using namespace apn::detail;

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
    if (magnitude > INT64_MAX)
      throw Failure(APN_EOVERFLOW, "pool: " + amount.to_string() + " is more units of " + step.to_string() +
                                       " than an int64_t holds");
    const std::vector<apportion::int128> sums =
        apportion::group_sums(std::span(group_ids, n_rows), std::span(weights, n_rows), n_groups);
    bool any = false;
    for (apportion::int128 s : sums) any = any || s != 0;
    if (!any) throw Failure(APN_ESPEC, "weights: all zero, nothing to split the pool by");
    const std::vector<std::int64_t> amounts = apportion::split_pool(amount, step, sums);
    std::copy(amounts.begin(), amounts.end(), out_amounts);
    return APN_OK;
  });
}

}  // extern "C"
