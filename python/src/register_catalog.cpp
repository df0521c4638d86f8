// apportion.Catalog: SKUs with effective-dated prices by tier. Immutable once built; rates
// and costs come back as decimal.Decimal.

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include <filesystem>
#include <memory>

#include "apportion/catalog.hpp"
#include "apportion/spec.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {


py::dict sku_dict(const Sku& s) {
  py::list prices;
  for (const Price& p : s.prices) {
    py::dict d;
    d["tier"] = p.tier;
    d["rate"] = to_py_decimal(p.rate);
    d["from"] = p.from ? py::object(py::str(p.from->to_string())) : py::none();
    d["source"] = p.source;
    d["as_of"] = p.as_of;
    prices.append(d);
  }
  py::dict d;
  d["id"] = s.id;
  d["unit"] = std::string(to_string(s.unit));
  d["billing"] = std::string(to_string(s.billing));
  d["minimum_seconds"] = to_py_decimal(s.minimum_seconds);
  d["description"] = s.description;
  d["source"] = s.source;
  d["as_of"] = s.as_of;
  d["prices"] = prices;
  return d;
}

}  // namespace

void register_catalog(py::module_& m) {
  py::class_<Catalog, std::shared_ptr<Catalog>>(m, "Catalog", R"doc(A pricing catalog: SKUs with a unit, a billing granularity and prices by tier.

Build one with Catalog.builtin() (public list prices shipped with the library; check each
SKU's as_of), Catalog.from_json(text) or Catalog.load(path), in the spec's catalog format
{"skus": [...]}. A catalog never changes once built; merged() returns a new one.)doc")
      .def_static("builtin", [] { return std::make_shared<Catalog>(Catalog::builtin()); },
                  "The catalog of public list prices shipped with the library.")
      .def_static("from_json", [](const std::string& text) { return std::make_shared<Catalog>(parse_catalog(text)); },
                  py::arg("text"), "Reads a catalog from JSON text; bad input is SpecError naming the path.")
      .def_static("load", [](const std::filesystem::path& path) { return std::make_shared<Catalog>(load_catalog(path)); },
                  py::arg("path"), "Reads a catalog file.")
      .def("merged",
           [](const Catalog& self, const Catalog& other) {
             auto out = std::make_shared<Catalog>(self);
             out->merge(other);
             return out;
           },
           py::arg("other"), "A new catalog with the SKUs of both; an id in both is SpecError.")
      .def_property_readonly("skus", [](const Catalog& self) {
        std::vector<std::string> ids;
        for (const Sku& s : self.skus()) ids.push_back(s.id);
        return ids;
      }, "The SKU ids, sorted.")
      .def("sku", [](const Catalog& self, const std::string& id) { return sku_dict(self.sku(id)); }, py::arg("id"),
           "One SKU as a dict: id, unit, billing, minimum_seconds, prices, description, source, as_of.")
      .def("tiers", [](const Catalog& self, const std::string& id) { return self.sku(id).tiers(); }, py::arg("sku"))
      .def(
          "rate_at",
          [](const Catalog& self, const std::string& sku, const std::string& tier, py::handle at) {
            return to_py_decimal(at.is_none() ? self.latest_rate(sku, tier) : self.rate_at(sku, tier, to_instant(at, "at")));
          },
          py::arg("sku"), py::arg("tier") = "on_demand", py::arg("at") = py::none(),
          R"doc(The rate in force at `at` (RFC 3339 text or an aware datetime), per the SKU's unit.

Without `at`, the tier's latest price. No price at that moment is PriceNotFound naming the
SKU, tier and time.)doc")
      .def(
          "cost",
          [](const Catalog& self, const std::string& sku, const std::string& tier, py::handle count, py::handle start,
             py::handle end) {
            const Interval interval(to_instant(start, "start"), to_instant(end, "end"));
            return to_py_decimal(self.cost_over(sku, tier, to_decimal(count, "count"), interval));
          },
          py::arg("sku"), py::arg("tier"), py::arg("count"), py::arg("start"), py::arg("end"),
          R"doc(`count` units (GPUs, instances) priced over [start, end), time-weighted across price changes.

Exact, with no billing granularity; returned to 12 fractional digits (half-even).)doc")
      .def(
          "run_cost",
          [](const Catalog& self, const std::string& sku, const std::string& tier, py::handle count, py::handle start,
             py::handle end) {
            const Interval interval(to_instant(start, "start"), to_instant(end, "end"));
            return to_py_decimal(self.run_cost(sku, tier, to_decimal(count, "count"), interval));
          },
          py::arg("sku"), py::arg("tier"), py::arg("count"), py::arg("start"), py::arg("end"),
          "As cost(), with the SKU's billing granularity (per_second minimum, per_minute, per_hour).")
      .def("to_json", [](const Catalog& self) { return catalog_to_json(self); }, "The catalog as JSON text.")
      .def("__len__", [](const Catalog& self) { return self.skus().size(); })
      .def("__contains__", [](const Catalog& self, const std::string& id) { return self.find(id) != nullptr; })
      .def("__repr__", [](const Catalog& self) { return "<apportion.Catalog with " + std::to_string(self.skus().size()) + " SKUs>"; });
}

}  // namespace apportion::python
