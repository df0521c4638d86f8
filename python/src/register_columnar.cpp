// split_columnar: the largest-remainder split of one pool over many records given as numpy
// columns. No copies (the arrays are read in place; a float or non-contiguous array is
// refused, never converted), the GIL released while it works, 128-bit sums per group and
// 256-bit products, so no weight or pool in range can overflow.

#include <pybind11/numpy.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <type_traits>
#include <vector>

#include "apportion/decimal.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

using boost::multiprecision::int256_t;
using Weights = py::array_t<std::int64_t, py::array::c_style>;

// Splits `units` (>= 0) by the group sums: floors, then one unit each to the largest
// remainders, ties to the larger sum, then to the lower group id.
void split_units(int128 units, const std::vector<int128>& sums, int128 total, std::int64_t* out) {
  const std::size_t n = sums.size();
  std::vector<int128> remainders(n);
  int128 assigned = 0;
  for (std::size_t g = 0; g < n; ++g) {
    const int256_t product = int256_t(units) * int256_t(sums[g]);
    const int256_t q = product / int256_t(total);
    out[g] = static_cast<std::int64_t>(q);  // q <= units, which fits
    remainders[g] = static_cast<int128>(product - q * int256_t(total));
    assigned += out[g];
  }
  const auto leftover = static_cast<std::size_t>(units - assigned);  // < n: each floor loses < 1
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(leftover), order.end(),
                    [&](std::size_t a, std::size_t b) {
                      if (remainders[a] != remainders[b]) return remainders[a] > remainders[b];
                      if (sums[a] != sums[b]) return sums[a] > sums[b];
                      return a < b;
                    });
  for (std::size_t k = 0; k < leftover; ++k) out[order[k]] += 1;
}

template <class Id>
py::array_t<std::int64_t> split_columnar(py::handle pool, py::handle unit, const py::array_t<Id, py::array::c_style>& ids,
                                         const Weights& weights, std::size_t n_groups) {
  const Decimal pool_amount = to_decimal(pool, "pool");
  const Decimal unit_amount = to_decimal(unit, "unit");
  if (unit_amount.signum() <= 0) throw py::value_error("unit must be positive (got " + unit_amount.to_string() + ")");
  if (!pool_amount.is_multiple_of(unit_amount))
    throw py::value_error("pool " + pool_amount.to_string() + " is not a multiple of the unit " + unit_amount.to_string());
  if (ids.ndim() != 1 || weights.ndim() != 1) throw py::value_error("group_ids and weights must be one-dimensional");
  if (ids.shape(0) != weights.shape(0))
    throw py::value_error("group_ids and weights differ in length (" + std::to_string(ids.shape(0)) + " and " +
                          std::to_string(weights.shape(0)) + ")");
  const int128 pool_units = pool_amount.raw() / unit_amount.raw();
  const int128 magnitude = pool_units < 0 ? -pool_units : pool_units;
  if (magnitude > INT64_MAX) throw py::value_error("pool is more than 2^63 - 1 units");

  py::array_t<std::int64_t> result(static_cast<py::ssize_t>(n_groups));
  std::int64_t* out = result.mutable_data();
  const Id* id = ids.data();
  const std::int64_t* weight = weights.data();
  const auto count = static_cast<std::size_t>(ids.shape(0));
  {
    py::gil_scoped_release release;
    std::vector<int128> sums(n_groups, 0);
    int128 total = 0;
    for (std::size_t i = 0; i < count; ++i) {
      bool negative_id = false;
      if constexpr (std::is_signed_v<Id>) negative_id = id[i] < 0;
      if (negative_id || static_cast<std::uint64_t>(id[i]) >= n_groups)
        throw py::value_error("group_ids[" + std::to_string(i) + "] = " + std::to_string(id[i]) + " is not below n_groups (" +
                              std::to_string(n_groups) + ")");
      if (weight[i] < 0)
        throw py::value_error("weights[" + std::to_string(i) + "] must not be negative (got " + std::to_string(weight[i]) + ")");
      sums[static_cast<std::size_t>(id[i])] += weight[i];
      total += weight[i];
    }
    if (total == 0) {
      if (magnitude != 0) throw py::value_error("weights sum to zero: there is nothing to split the pool by");
      std::fill(out, out + n_groups, 0);
    } else {
      split_units(magnitude, sums, total, out);
      if (pool_units < 0)
        for (std::size_t g = 0; g < n_groups; ++g) out[g] = -out[g];
    }
  }
  return result;
}

}  // namespace

void register_columnar(py::module_& m) {
  static constexpr const char* doc = R"doc(Splits `pool` over groups by summed integer weights, in whole `unit`s.

group_ids (uint32 or int64) and weights (int64, non-negative) are equally long, C-contiguous
numpy arrays read without copying; other dtypes, floats included, are TypeError rather than
converted. Returns an int64 array of n_groups amounts in units of `unit` that sum exactly to
pool / unit: largest remainder, ties to the larger weight, then to the lower group id. A
negative pool (a credit) splits as its absolute value, negated. pool and unit are str, int
or decimal.Decimal; the pool must be a multiple of the unit.)doc";
  m.def("split_columnar", &split_columnar<std::uint32_t>, py::arg("pool"), py::arg("unit"),
        py::arg("group_ids").noconvert(), py::arg("weights").noconvert(), py::arg("n_groups"), doc);
  m.def("split_columnar", &split_columnar<std::int64_t>, py::arg("pool"), py::arg("unit"),
        py::arg("group_ids").noconvert(), py::arg("weights").noconvert(), py::arg("n_groups"), doc);
}

}  // namespace apportion::python
