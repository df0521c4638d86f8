// apportion.RecordBatch: records as columns (a DataFrame's, or numpy arrays) for the spec
// runner and PartialAggregate, without a dict or a JSON text per row. Integer arrays are
// read in place (int32 codes, int64 values, uint8 masks; any other dtype, a float one
// included, is TypeError rather than converted). Columns of Python objects (str tags;
// Decimal, str or int measures) are checked here, with the GIL held since they are Python
// objects, and errors name the column and the row; measures are encoded at once, exactly,
// and tags of ASCII text when a run reads them (DeferredTags).

#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apportion/columnar.hpp"
#include "apportion/errors.hpp"
#include "batch.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

using Codes = py::array_t<std::int32_t, py::array::c_style>;
using Values = py::array_t<std::int64_t, py::array::c_style>;
using Mask = py::array_t<std::uint8_t, py::array::c_style>;

template <class T>
std::span<const T> span_of(const py::array_t<T, py::array::c_style>& a) {
  return {a.data(), static_cast<std::size_t>(a.shape(0))};
}

void check_length(const Batch& b, const py::array& a, const std::string& column, const char* what) {
  if (a.ndim() != 1) throw py::value_error("column '" + column + "': " + what + " must be one-dimensional");
  if (static_cast<std::size_t>(a.shape(0)) != b.batch.rows)
    throw py::value_error("column '" + column + "': " + std::to_string(a.shape(0)) + " " + what + " for " +
                          std::to_string(b.batch.rows) + " rows");
}

void check_new_column(const Batch& b, const std::string& column) {
  for (const auto& t : b.batch.tags)
    if (t.key == column) throw py::value_error("column '" + column + "' is already a tag of this batch");
  for (const auto& m : b.batch.measures)
    if (m.name == column) throw py::value_error("column '" + column + "' is already a measure of this batch");
}

// A 1-D object array's elements, read in place whatever its strides.
class ObjectColumn {
 public:
  ObjectColumn(const py::array& a, const Batch& b, const std::string& column) {
    if (a.dtype().kind() != 'O') throw py::type_error("column '" + column + "': expected an object array, got " +
                                                      std::string(py::str(a.dtype())));
    check_length(b, a, column, "values");
    base_ = static_cast<const char*>(a.data());
    stride_ = a.strides(0);
  }
  PyObject* operator[](std::size_t row) const {
    return *reinterpret_cast<PyObject* const*>(base_ + static_cast<py::ssize_t>(row) * stride_);
  }

 private:
  const char* base_ = nullptr;
  py::ssize_t stride_ = 0;
};

// "column 'team', row 'b': " with the row's label in `index` (a pandas Index), else its position.
std::string where(const std::string& column, const py::object& index, std::size_t row) {
  const std::string label = index.is_none() ? std::to_string(row) : std::string(py::repr(index[py::int_(row)]));
  return "column " + std::string(py::repr(py::str(column))) + ", row " + label + ": ";
}

std::string described(PyObject* value) {
  const py::handle v(value);
  return std::string(py::str(py::type::handle_of(v).attr("__name__"))) + " " + std::string(py::repr(v));
}

// None, a float NaN and pandas.NA are a missing cell (pandas writes all three); pandas is
// not imported where it is not loaded.
class Missing {
 public:
  Missing() {
    const py::dict modules = py::module_::import("sys").attr("modules");
    if (modules.contains("pandas")) na_ = modules["pandas"].attr("NA");
  }
  bool operator()(PyObject* value) const {
    if (value == Py_None) return true;
    if (PyFloat_Check(value)) return std::isnan(PyFloat_AS_DOUBLE(value));
    return na_ && value == na_.ptr();
  }

 private:
  py::object na_;
};

std::string_view utf8(PyObject* text, const std::string& column, const py::object& index, std::size_t row) {
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) {  // a lone surrogate
    const py::error_already_set e;
    throw py::value_error(where(column, index, row) + "not valid Unicode text (" + std::string(py::str(e.value())) + ")");
  }
  return {data, static_cast<std::size_t>(size)};
}

void add_tags(Batch& b, const std::string& key, const Codes& codes, const std::vector<std::string>& dictionary) {
  check_new_column(b, key);
  check_length(b, codes, key, "codes");
  b.batch.tags.push_back({key, dictionary, span_of(codes)});
  b.arrays.push_back(codes);
}

// The codes of a column of str, in order of first appearance; a missing cell or "" (as the
// csv input reads an empty cell) is no tag. `text(row)` is the cell's text, none when missing.
template <class Text>
RecordBatch::TagColumn encode_tags(const std::string& key, std::size_t rows, std::int32_t* out, const ObjectColumn& column,
                                   Text&& text) {
  Dictionary dictionary;
  // pandas shares one str object between the equal cells it reads (read_csv does): a small
  // cache of the last object seen per slot gives their code without reading the text again.
  struct Seen {
    PyObject* object = nullptr;
    std::int32_t code = 0;
  };
  std::vector<Seen> seen(std::size_t{1} << 14);
  for (std::size_t row = 0; row < rows; ++row) {
    PyObject* v = column[row];
    Seen& slot = seen[(reinterpret_cast<std::uintptr_t>(v) >> 4) & (seen.size() - 1)];
    if (slot.object == v) {
      out[row] = slot.code;
      continue;
    }
    const std::optional<std::string_view> t = text(v, row);
    if (!t || t->empty()) {
      out[row] = -1;
      continue;
    }
    const std::uint32_t id = dictionary.intern(*t);
    if (id > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max()))
      throw std::length_error("column '" + key + "': more than 2^31 distinct values");
    out[row] = static_cast<std::int32_t>(id);
    slot = {v, out[row]};
  }
  std::vector<std::string> strings;
  strings.reserve(dictionary.size());
  for (std::uint32_t id = 0; id < dictionary.size(); ++id) strings.emplace_back(dictionary.value(id));
  return {key, std::move(strings), {out, rows}};
}

// A column of str encoded when a run first reads it, without the GIL: its cells were
// checked when it was added to be ASCII str (whose bytes Python never changes) or missing.
struct DeferredTags {
  ObjectColumn column;
  std::size_t rows;
  std::string key;
  std::once_flag once;
  std::vector<std::int32_t> codes;
  RecordBatch::TagColumn encoded;

  const RecordBatch::TagColumn& get() {
    std::call_once(once, [&] {
      codes.resize(rows);
      encoded = encode_tags(key, rows, codes.data(), column, [](PyObject* v, std::size_t) -> std::optional<std::string_view> {
        if (!PyUnicode_Check(v)) return std::nullopt;
        return std::string_view(static_cast<const char*>(PyUnicode_DATA(v)), static_cast<std::size_t>(PyUnicode_GET_LENGTH(v)));
      });
    });
    return encoded;
  }
};

// Tag values as pandas holds a column of str. A column all of ASCII str (or missing) is
// encoded only when a run reads its key (most DataFrames carry tags no step groups by: a
// pod's name); any other is encoded now, under the GIL.
void add_tag_values(Batch& b, const std::string& key, const py::array& values, const py::object& index) {
  check_new_column(b, key);
  const ObjectColumn column(values, b, key);
  const Missing missing;
  const std::size_t rows = b.batch.rows;
  bool ascii = true;
  PyObject* last = nullptr;  // equal cells often share one object
  for (std::size_t row = 0; row < rows; ++row) {
    PyObject* v = column[row];
    if (v == last) continue;
    last = v;
    if (PyUnicode_Check(v)) {
      ascii = ascii && PyUnicode_IS_COMPACT_ASCII(v);
      if (!ascii) utf8(v, key, index, row);  // a lone surrogate is an error now, naming its row
    } else if (!missing(v)) {
      throw py::type_error(where(key, index, row) + "tag values are str, got " + described(v));
    }
  }
  if (ascii) {
    auto deferred = std::make_shared<DeferredTags>(column, rows, key);
    b.batch.tags.push_back({key, {}, {}, [deferred]() -> const RecordBatch::TagColumn& { return deferred->get(); }});
    b.arrays.push_back(values);
    return;
  }
  Codes codes(static_cast<py::ssize_t>(rows));
  b.batch.tags.push_back(encode_tags(key, rows, codes.mutable_data(), column, [&](PyObject* v, std::size_t row) {
    return PyUnicode_Check(v) ? std::optional<std::string_view>(utf8(v, key, index, row)) : std::nullopt;
  }));
  b.arrays.push_back(codes);
}

void add_measure(Batch& b, const std::string& name, const Values& values, int scale, const std::optional<Mask>& present) {
  check_new_column(b, name);
  check_length(b, values, name, "values");
  if (scale < 0 || scale > Decimal::scale)
    throw py::value_error("column '" + name + "': scale must be 0 to 12 (got " + std::to_string(scale) + ")");
  std::span<const std::uint8_t> mask;
  if (present) {
    check_length(b, *present, name, "mask entries");
    mask = span_of(*present);
    b.arrays.push_back(*present);
  }
  b.batch.measures.push_back({name, span_of(values), scale, mask});
  b.arrays.push_back(values);
}

// Exact amounts from Decimal, str (JSON number syntax) and int objects, as int64 at the
// smallest scale that holds every one of them; missing cells and "" have no value. Returns
// the scale.
int add_measure_values(Batch& b, const std::string& name, const py::array& values, const py::object& index) {
  check_new_column(b, name);
  const ObjectColumn column(values, b, name);
  const py::object decimal_type = py::module_::import("decimal").attr("Decimal");
  const Missing missing;
  const std::size_t rows = b.batch.rows;
  std::vector<int128> raw(rows);
  Mask present(static_cast<py::ssize_t>(rows));
  std::uint8_t* has = present.mutable_data();
  int scale = 0;
  int128 unit = detail::pow10_128(Decimal::scale);  // 10^(12 - scale)
  for (std::size_t row = 0; row < rows; ++row) {
    PyObject* v = column[row];
    has[row] = 0;
    Decimal d;
    try {
      if (PyUnicode_Check(v)) {
        const std::string_view text = utf8(v, name, index, row);
        if (text.empty()) continue;
        d = Decimal::parse(text);
      } else if (PyBool_Check(v) || PyFloat_Check(v)) {
        if (missing(v)) continue;
        throw py::type_error(where(name, index, row) + described(v) + " is not exact; use int, str or Decimal");
      } else if (PyIndex_Check(v)) {  // int, numpy's integers
        const py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(v));
        if (!i) {
          PyErr_Clear();
          throw py::type_error(where(name, index, row) + described(v) + " is not exact; use int, str or Decimal");
        }
        int overflow = 0;
        const long long n = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
        d = overflow ? Decimal::parse(std::string(py::str(i))) : Decimal(static_cast<std::int64_t>(n));
      } else if (py::isinstance(v, decimal_type)) {  // written out ("0.0000000000001", not "1E-13") for messages
        d = Decimal::parse(py::handle(v).attr("__format__")("f").cast<std::string>());
      } else if (missing(v)) {
        continue;
      } else {
        throw py::type_error(where(name, index, row) + described(v) + " is not exact; use int, str or Decimal");
      }
    } catch (const std::invalid_argument& e) {  // ParseError: not a number, too many digits
      throw py::value_error(where(name, index, row) + e.what());
    } catch (const std::overflow_error& e) {
      throw py::value_error(where(name, index, row) + e.what());
    }
    if (d.raw() % unit != 0) {
      scale = d.fractional_digits();
      unit = detail::pow10_128(Decimal::scale - scale);
    }
    raw[row] = d.raw();
    has[row] = 1;
  }
  Values out(static_cast<py::ssize_t>(rows));
  std::int64_t* o = out.mutable_data();
  for (std::size_t row = 0; row < rows; ++row) {
    const int128 q = raw[row] / unit;
    if (q > std::numeric_limits<std::int64_t>::max() || q < std::numeric_limits<std::int64_t>::min())
      throw py::value_error(where(name, index, row) + Decimal::from_raw(raw[row]).to_string() +
                            " does not fit a 64-bit integer at the column's scale of " + std::to_string(scale) +
                            " fractional digits");
    o[row] = static_cast<std::int64_t>(q);
  }
  b.batch.measures.push_back({name, span_of(out), scale, span_of(present)});
  b.arrays.push_back(out);
  b.arrays.push_back(present);
  return scale;
}

std::vector<std::string> tag_keys(const Batch& b) {
  std::vector<std::string> out;
  for (const auto& t : b.batch.tags) out.push_back(t.key);
  return out;
}

std::vector<std::string> measure_names(const Batch& b) {
  std::vector<std::string> out;
  for (const auto& m : b.batch.measures) out.push_back(m.name);
  return out;
}

}  // namespace

void register_records(py::module_& m) {
  py::class_<Batch, std::shared_ptr<Batch>>(m, "RecordBatch", R"doc(Records as columns, read by a run and by PartialAggregate.add_batch.

Row i has the tag `key` = dictionary[codes[i]] of each tag column (no tag where the code
is -1) and the measure values[i] * 10**-scale of each measure column (no value where
present[i] is 0). The rows are read as if appended to the spec's own "records", with the
same checks; a bad row is SpecError naming "<source> row <i>". Integer arrays are read in
place, not copied: do not change them before the run. apportion.record_batch() makes one
from a DataFrame.)doc")
      .def(py::init([](std::size_t rows, std::optional<std::string> pool, std::string source) {
             auto b = std::make_shared<Batch>();
             b->batch.rows = rows;
             b->batch.pool = std::move(pool);
             b->batch.source = std::move(source);
             return b;
           }),
           py::arg("rows"), py::kw_only(), py::arg("pool") = py::none(), py::arg("source") = "batch")
      .def("add_tags", &add_tags, py::arg("key"), py::arg("codes").noconvert(), py::arg("dictionary"),
           "A tag column: int32 codes (C-contiguous, -1 for no tag) into `dictionary`, a list of str.")
      .def("add_tag_values", &add_tag_values, py::arg("key"), py::arg("values"), py::kw_only(),
           py::arg("index") = py::none(),
           "A tag column from an object array of str; None, NaN, pandas.NA and \"\" are no tag. `index` "
           "labels rows in errors (a DataFrame's index), else positions do.")
      .def("add_measure", &add_measure, py::arg("name"), py::arg("values").noconvert(), py::kw_only(),
           py::arg("scale") = 0, py::arg("present").noconvert() = py::none(),
           "A measure column: int64 values at `scale` fractional digits (0 to 12); `present`, uint8, 0 "
           "where a row has no value.")
      .def("add_measure_values", &add_measure_values, py::arg("name"), py::arg("values"), py::kw_only(),
           py::arg("index") = py::none(),
           "A measure column from an object array of decimal.Decimal, str or int, held exactly at the "
           "smallest scale that holds every value (returned); None, NaN, pandas.NA and \"\" have no value. "
           "A float, more than 12 fractional digits or a value beyond int64 at that scale is an error "
           "naming the column and row.")
      .def_property_readonly("rows", [](const Batch& b) { return b.batch.rows; })
      .def_property_readonly("pool", [](const Batch& b) { return b.batch.pool; })
      .def_property_readonly("source", [](const Batch& b) { return b.batch.source; })
      .def_property_readonly("tags", &tag_keys, "The tag keys, in the order added.")
      .def_property_readonly("measures", &measure_names, "The measure names, in the order added.")
      .def("__len__", [](const Batch& b) { return b.batch.rows; })
      .def("__repr__", [](const Batch& b) {
        return "<apportion.RecordBatch " + b.batch.source + ": " + std::to_string(b.batch.rows) + " rows, " +
               std::to_string(b.batch.tags.size()) + " tags, " + std::to_string(b.batch.measures.size()) + " measures>";
      });
}

}  // namespace apportion::python
