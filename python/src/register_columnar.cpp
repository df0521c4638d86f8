// The columnar core from Python: split_columnar and group_sums over numpy columns (no
// copies: a float or non-contiguous array is refused, never converted; the GIL released
// while the rows are summed), and PartialAggregate, the mergeable, picklable exact
// aggregate of records.

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apportion/columnar.hpp"
#include "batch.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

using Weights = py::array_t<std::int64_t, py::array::c_style>;

template <class Id>
std::span<const Id> column(const py::array_t<Id, py::array::c_style>& a) {
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}

template <class Id>
void check_columns(const py::array_t<Id, py::array::c_style>& ids, const Weights& weights) {
  if (ids.ndim() != 1 || weights.ndim() != 1) throw py::value_error("group_ids and weights must be one-dimensional");
  if (ids.shape(0) != weights.shape(0))
    throw py::value_error("group_ids and weights differ in length (" + std::to_string(ids.shape(0)) + " and " +
                          std::to_string(weights.shape(0)) + ")");
}

template <class Id>
py::array_t<std::int64_t> split_columnar(py::handle pool, py::handle unit, const py::array_t<Id, py::array::c_style>& ids,
                                         const Weights& weights, std::size_t n_groups) {
  const Decimal pool_amount = to_decimal(pool, "pool");
  const Decimal unit_amount = to_decimal(unit, "unit");
  if (unit_amount.signum() <= 0) throw py::value_error("unit must be positive (got " + unit_amount.to_string() + ")");
  if (!pool_amount.is_multiple_of(unit_amount))
    throw py::value_error("pool " + pool_amount.to_string() + " is not a multiple of the unit " + unit_amount.to_string());
  check_columns(ids, weights);
  const int128 pool_units = pool_amount.raw() / unit_amount.raw();
  if ((pool_units < 0 ? -pool_units : pool_units) > INT64_MAX) throw py::value_error("pool is more than 2^63 - 1 units");

  py::array_t<std::int64_t> result(static_cast<py::ssize_t>(n_groups));
  std::int64_t* out = result.mutable_data();
  const auto id_column = column(ids);
  const auto weight_column = column(weights);
  {
    py::gil_scoped_release release;
    const std::vector<int128> sums = group_sums(id_column, weight_column, n_groups);
    const std::vector<std::int64_t> amounts = split_pool(pool_amount, unit_amount, sums);
    std::copy(amounts.begin(), amounts.end(), out);
  }
  return result;
}

template <class Id>
py::list py_group_sums(const py::array_t<Id, py::array::c_style>& ids, const Weights& weights, std::size_t n_groups) {
  check_columns(ids, weights);
  const auto id_column = column(ids);
  const auto weight_column = column(weights);
  std::vector<int128> sums;
  {
    py::gil_scoped_release release;
    sums = group_sums(id_column, weight_column, n_groups);
  }
  py::list out(sums.size());
  for (std::size_t g = 0; g < sums.size(); ++g)
    out[g] = py::reinterpret_steal<py::object>(PyLong_FromString(int128_to_string(sums[g]).c_str(), nullptr, 10));
  return out;
}

std::optional<std::string_view> pool_view(const std::optional<std::string>& pool) {
  return pool ? std::optional<std::string_view>(*pool) : std::nullopt;
}

void add_row(PartialAggregate& a, const py::dict& tags, const py::dict& measures, const std::optional<std::string>& pool) {
  std::vector<std::string> keys, values, names;
  std::vector<Decimal> amounts;
  for (const auto& [k, v] : tags) {
    keys.push_back(py::cast<std::string>(k));
    values.push_back(py::cast<std::string>(v));
  }
  for (const auto& [k, v] : measures) {
    names.push_back(py::cast<std::string>(k));
    amounts.push_back(to_decimal(v, "measure"));
  }
  std::vector<PartialAggregate::TagView> t;
  for (std::size_t i = 0; i < keys.size(); ++i) t.emplace_back(keys[i], values[i]);
  std::vector<PartialAggregate::MeasureView> m;
  for (std::size_t i = 0; i < names.size(); ++i) m.emplace_back(names[i], amounts[i]);
  a.add(pool_view(pool), t, m);
}

// Rows given as columns: row i is in group group_ids[i], whose tags are groups[group_ids[i]],
// and adds weights[i] * 10^-scale to `measure`.
template <class Id>
void add_columns(PartialAggregate& a, const py::array_t<Id, py::array::c_style>& ids, const Weights& weights,
                 const py::sequence& groups, const std::string& measure, int scale, const std::optional<std::string>& pool) {
  check_columns(ids, weights);
  if (scale < 0 || scale > Decimal::scale) throw py::value_error("scale must be 0 to 12 (got " + std::to_string(scale) + ")");
  const std::size_t n_groups = py::len(groups);
  const auto id_column = column(ids);
  const auto weight_column = column(weights);
  std::vector<int128> sums;
  std::vector<std::uint64_t> counts(n_groups);
  {
    py::gil_scoped_release release;
    sums = group_sums(id_column, weight_column, n_groups);
    for (const Id g : id_column) ++counts[static_cast<std::size_t>(g)];  // in range: group_sums checked
  }
  // The groups go into a fresh aggregate, merged in one step: merge checks every sum
  // against this aggregate first, so the rows are added whole or not at all.
  const int128 factor = detail::pow10_128(Decimal::scale - scale);
  PartialAggregate fresh;
  const std::uint32_t m = fresh.measure_id(measure);
  const std::uint32_t p = fresh.pool_id(pool_view(pool));
  std::vector<std::pair<std::uint32_t, int128>> values(1);
  for (std::size_t g = 0; g < n_groups; ++g) {
    if (counts[g] == 0) continue;
    const py::dict tags = py::reinterpret_borrow<py::object>(groups[g]).cast<py::dict>();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> pairs;
    for (const auto& [k, v] : tags)
      pairs.emplace_back(fresh.tag_key_id(py::cast<std::string>(k)), fresh.tag_value_id(py::cast<std::string>(v)));
    std::sort(pairs.begin(), pairs.end());
    std::vector<std::uint32_t> key{p};
    for (const auto& [k, v] : pairs) {
      key.push_back(k);
      key.push_back(v);
    }
    int128 raw;
    if (__builtin_mul_overflow(sums[g], factor, &raw))
      throw OverflowError(measure + ": the aggregated sum is out of the decimal range");
    values[0] = {m, raw};
    fresh.add_to_group(fresh.group(key), values, counts[g]);
  }
  a.merge(fresh);
}

// The rows of a record batch, each to its (pool, tags) group, into a fresh aggregate merged
// in one step, so that the rows are added whole or not at all. A bad row is an error naming
// it as a run names it ("<source> row 3: ...").
void add_batch(PartialAggregate& a, const Batch& b) {
  const RecordBatch& batch = b.batch;
  py::gil_scoped_release release;
  PartialAggregate fresh;
  const std::uint32_t pool = fresh.pool_id(pool_view(batch.pool));
  // Per tag column: its key id and its dictionary's value ids; columns in ascending key id,
  // the order a group's key lists them in.
  struct Column {
    std::uint32_t key;
    const RecordBatch::TagColumn* tags;
    std::vector<std::uint32_t> values;
  };
  std::vector<Column> columns;
  for (const auto& given : batch.tags) {
    const RecordBatch::TagColumn& t = given.encoded ? given.encoded() : given;
    Column c{fresh.tag_key_id(t.key), &t, {}};
    for (const std::string& v : t.dictionary) c.values.push_back(fresh.tag_value_id(v));
    columns.push_back(std::move(c));
  }
  std::sort(columns.begin(), columns.end(), [](const Column& x, const Column& y) { return x.key < y.key; });
  std::vector<std::uint32_t> measure_ids;
  for (const auto& m : batch.measures) measure_ids.push_back(fresh.measure_id(m.name));
  std::vector<std::uint32_t> key;
  std::vector<std::pair<std::uint32_t, int128>> values;
  for (std::size_t row = 0; row < batch.rows; ++row) {
    key.assign(1, pool);
    for (const Column& c : columns) {
      const std::int32_t code = c.tags->codes[row];
      if (code < 0) continue;
      if (static_cast<std::size_t>(code) >= c.values.size())
        throw std::invalid_argument(batch.source + " row " + std::to_string(row) + ": " + c.tags->key + ": code " +
                                    std::to_string(code) + " is not below the dictionary's " +
                                    std::to_string(c.values.size()) + " values");
      key.push_back(c.key);
      key.push_back(c.values[static_cast<std::size_t>(code)]);
    }
    values.clear();
    for (std::size_t i = 0; i < batch.measures.size(); ++i) {
      const auto& m = batch.measures[i];
      if (!m.present.empty() && !m.present[row]) continue;
      values.emplace_back(measure_ids[i], static_cast<int128>(m.values[row]) * detail::pow10_128(Decimal::scale - m.scale));
    }
    try {
      fresh.add_to_group(fresh.group(key), values);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(batch.source + " row " + std::to_string(row) + ": " + e.what());
    }
  }
  a.merge(fresh);
}

py::list spec_records(const PartialAggregate& a, const std::string& source, bool with_origin) {
  py::list out;
  for (const Record& r : a.to_records(source)) {
    py::dict rec;
    if (r.pool) rec["pool"] = *r.pool;
    py::dict tags;
    for (const auto& [k, v] : r.tags) tags[py::str(k)] = v;
    rec["tags"] = tags;
    py::dict measures;
    for (const auto& [k, v] : r.measures) measures[py::str(k)] = v.to_string();
    rec["measures"] = measures;
    if (with_origin) rec["origin"] = r.origin;
    out.append(rec);
  }
  return out;
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

  static constexpr const char* sums_doc = R"doc(The exact sum of `weights` per group, as a list of n_groups ints.

group_ids (uint32 or int64) and weights (int64, non-negative) as for split_columnar: read in
place, never converted, the GIL released; sums are exact (128-bit).)doc";
  m.def("group_sums", &py_group_sums<std::uint32_t>, py::arg("group_ids").noconvert(), py::arg("weights").noconvert(),
        py::arg("n_groups"), sums_doc);
  m.def("group_sums", &py_group_sums<std::int64_t>, py::arg("group_ids").noconvert(), py::arg("weights").noconvert(),
        py::arg("n_groups"), sums_doc);

  py::class_<PartialAggregate>(m, "PartialAggregate", R"doc(An exact, mergeable aggregate of records.

For each distinct (pool, tags) it keeps the exact sum of every measure and the number of
rows, so its size grows with the groups, not the rows. Aggregate shards anywhere (it
pickles), merge them in any order, and to_spec_records() gives the same records, ready
for a spec's "records".)doc")
      .def(py::init<>())
      .def("add", &add_row, py::arg("tags"), py::arg("measures"), py::kw_only(), py::arg("pool") = py::none(),
           "Adds one row: tags {key: value}, measures {name: str | int | Decimal} (non-negative).")
      .def("add_columns", &add_columns<std::uint32_t>, py::arg("group_ids").noconvert(), py::arg("weights").noconvert(),
           py::arg("groups"), py::arg("measure"), py::kw_only(), py::arg("scale") = 0, py::arg("pool") = py::none(),
           R"doc(Adds rows given as numpy columns: row i belongs to group group_ids[i], whose tags are
groups[group_ids[i]] (a dict), and adds weights[i] * 10**-scale to `measure`. Arrays are read
in place (uint32 or int64 ids, int64 weights; floats are TypeError), the GIL released.)doc")
      .def("add_columns", &add_columns<std::int64_t>, py::arg("group_ids").noconvert(), py::arg("weights").noconvert(),
           py::arg("groups"), py::arg("measure"), py::kw_only(), py::arg("scale") = 0, py::arg("pool") = py::none())
      .def("add_batch", &add_batch, py::arg("batch"),
           R"doc(Adds the rows of a RecordBatch (apportion.record_batch(df) makes one from a DataFrame):
each to the group of its pool and tags, summing every measure exactly; the GIL released. The
rows are added whole or not at all; a bad row is SpecError naming it.)doc")
      .def(
          "merge", [](PartialAggregate& self, const PartialAggregate& other) { self.merge(other); }, py::arg("other"),
          "Adds every group of `other` to this aggregate.")
      .def("serialize", [](const PartialAggregate& a) { return py::bytes(a.serialize()); },
           "Compact, exact, versioned bytes; PartialAggregate.deserialize reads them back.")
      .def_static("deserialize", [](const py::bytes& b) { return PartialAggregate::deserialize(std::string(b)); },
                  py::arg("data"))
      .def("to_spec_records", [](const PartialAggregate& a, const std::string& source) { return spec_records(a, source, false); },
           py::arg("source") = "aggregate",
           "One spec record per group ({'pool'?, 'tags', 'measures'}, sums as exact strings), sorted by pool then tags.")
      .def("records", [](const PartialAggregate& a, const std::string& source) { return spec_records(a, source, true); },
           py::arg("source") = "aggregate", "to_spec_records() with each record's origin (\"src (aggregated: N rows)\").")
      .def_property_readonly("groups", &PartialAggregate::groups)
      .def_property_readonly("rows", &PartialAggregate::rows)
      .def("__len__", &PartialAggregate::groups)
      .def(py::pickle([](const PartialAggregate& a) { return py::bytes(a.serialize()); },
                      [](const py::bytes& b) { return PartialAggregate::deserialize(std::string(b)); }));
}

}  // namespace apportion::python
