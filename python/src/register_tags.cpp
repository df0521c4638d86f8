// apportion.Tags: an immutable mapping of str to str, kept in canonical order (keys sorted
// as UTF-8 bytes), hashable and ordered the way the library orders lines.

#include <pybind11/stl.h>

#include "apportion/tags.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

std::string tag_text(py::handle value, const char* what) {
  if (!py::isinstance<py::str>(value))
    throw py::type_error(std::string("tag ") + what + " must be a str, got " +
                         std::string(py::str(py::type::handle_of(value).attr("__name__"))));
  return value.cast<std::string>();
}

void add_pairs(std::vector<Tags::Pair>& pairs, py::handle source) {
  if (py::isinstance<Tags>(source)) {
    for (const Tags::Pair& p : source.cast<const Tags&>()) pairs.push_back(p);
    return;
  }
  // A mapping gives its items; anything else must be an iterable of (key, value) pairs.
  const py::object items = py::hasattr(source, "items") ? source.attr("items")() : py::reinterpret_borrow<py::object>(source);
  for (py::handle item : py::iter(items)) {
    const py::tuple pair = py::tuple(py::reinterpret_borrow<py::object>(item));
    if (pair.size() != 2) throw py::value_error("tags: expected (key, value) pairs");
    pairs.emplace_back(tag_text(pair[0], "keys"), tag_text(pair[1], "values"));
  }
}

py::dict to_dict(const Tags& tags) {
  py::dict d;
  for (const Tags::Pair& p : tags) d[py::str(p.first)] = py::str(p.second);
  return d;
}

}  // namespace

void register_tags(py::module_& m) {
  py::class_<Tags>(m, "Tags", R"doc(An immutable mapping of str keys to str values, in canonical order.

Tags({"team": "nlp"}), Tags(team="nlp") and Tags([("team", "nlp")]) are equal. Iteration
follows the keys sorted as UTF-8 bytes; < compares tag sets pair by pair, key then value,
which is the order of the lines of a result. A key given twice is SpecError.)doc")
      .def(py::init([](py::handle source, const py::kwargs& kwargs) {
             std::vector<Tags::Pair> pairs;
             if (!source.is_none()) add_pairs(pairs, source);
             add_pairs(pairs, kwargs);
             return Tags(std::move(pairs));
           }),
           py::arg("pairs") = py::none())
      .def("__len__", &Tags::size)
      .def("__getitem__",
           [](const Tags& self, const std::string& key) {
             const auto v = self.get(key);
             if (!v) throw py::key_error(key);
             return std::string(*v);
           })
      .def("__contains__", [](const Tags& self, py::handle key) {
        return py::isinstance<py::str>(key) && self.contains(key.cast<std::string>());
      })
      .def(
          "__iter__", [](const Tags& self) { return py::make_key_iterator(self.begin(), self.end()); },
          py::keep_alive<0, 1>())
      .def(
          "get",
          [](const Tags& self, const std::string& key, py::object default_) -> py::object {
            const auto v = self.get(key);
            return v ? py::str(std::string(*v)) : default_;
          },
          py::arg("key"), py::arg("default") = py::none())
      .def("keys", [](const Tags& self) {
        py::list out;
        for (const Tags::Pair& p : self) out.append(py::str(p.first));
        return out;
      })
      .def("values", [](const Tags& self) {
        py::list out;
        for (const Tags::Pair& p : self) out.append(py::str(p.second));
        return out;
      })
      .def("items", [](const Tags& self) {
        py::list out;
        for (const Tags::Pair& p : self) out.append(py::make_tuple(p.first, p.second));
        return out;
      })
      .def("to_dict", &to_dict, "A plain dict of the pairs, in canonical order.")
      .def("with_tag", &Tags::with, py::arg("key"), py::arg("value"),
           "A copy with `key` set to `value` (added or replaced).")
      .def("contains_all", &Tags::contains_all, py::arg("subset"), "True when every pair of `subset` is here too.")
      .def("normalized", &normalize_tags, R"doc(A copy with the standard cost dimensions renamed.

team_name, owner_team, env, stage, model, model_id, cc, ... become team, environment,
model_name, cost_center; two keys naming one dimension are SpecError.)doc")
      .def("__eq__",
           [](const Tags& self, py::handle other) -> py::object {
             if (py::isinstance<Tags>(other)) return py::bool_(self == other.cast<const Tags&>());
             if (py::isinstance<py::dict>(other)) return py::bool_(to_dict(self).equal(other));
             return py::reinterpret_borrow<py::object>(Py_NotImplemented);
           })
      .def("__lt__", [](const Tags& a, const Tags& b) { return a < b; })
      .def("__le__", [](const Tags& a, const Tags& b) { return a <= b; })
      .def("__gt__", [](const Tags& a, const Tags& b) { return a > b; })
      .def("__ge__", [](const Tags& a, const Tags& b) { return a >= b; })
      .def("__hash__", [](const Tags& self) { return py::hash(py::tuple(py::cast(self).attr("items")())); })
      .def("__repr__", [](const Tags& self) { return "Tags(" + std::string(py::repr(to_dict(self))) + ")"; });
}

}  // namespace apportion::python
