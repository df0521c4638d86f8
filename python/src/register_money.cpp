// apportion.Money: an exact amount in one currency. Built from str, int or decimal.Decimal,
// never from a float; arithmetic across currencies raises CurrencyMismatch.

#include <pybind11/operators.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cctype>

#include "apportion/money.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

// Our names ("half_even") or the decimal module's constants ("ROUND_HALF_EVEN").
RoundingMode rounding_mode(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.rfind("round_", 0) == 0) name.erase(0, 6);
  if (name == "half_even") return RoundingMode::half_even;
  if (name == "half_up") return RoundingMode::half_up;
  if (name == "down") return RoundingMode::down;
  if (name == "up") return RoundingMode::up;
  if (name == "floor") return RoundingMode::floor;
  if (name == "ceiling") return RoundingMode::ceiling;
  throw py::value_error("unknown rounding mode \"" + name + "\" (half_even, half_up, down, up, floor or ceiling)");
}

Decimal unit_or_minor(const Money& m, py::handle unit) {
  return unit.is_none() ? m.currency().minor_unit() : to_decimal(unit, "unit");
}

// Money times an int. Anything else is NotImplemented (so TypeError): pybind11 would turn
// a Decimal("1.5") into 1 through __int__, silently.
py::object times(const Money& self, py::handle n) {
  if (py::isinstance<py::bool_>(n) || !py::isinstance(n, py::module_::import("numbers").attr("Integral")))
    return py::reinterpret_borrow<py::object>(Py_NotImplemented);
  return py::cast(Money(self.amount() * to_decimal(n, "factor"), self.currency()));
}

}  // namespace

void register_money(py::module_& m) {
  py::class_<Money>(m, "Money", R"doc(An exact amount of money in one ISO 4217 currency.

Money("12.50", "USD"), Money(3, "EUR") and Money(decimal.Decimal("0.1")) are exact; a float
is refused with TypeError, since 0.1 as a float is not 0.1. Amounts of different currencies
never mix: adding or ordering them raises CurrencyMismatch (== is simply False).
)doc")
      .def(py::init([](py::handle amount, const std::string& currency) {
             return Money(to_decimal(amount, "amount"), Currency(currency));
           }),
           py::arg("amount"), py::arg("currency") = "USD")
      .def_static("zero", [](const std::string& currency) { return Money::zero(Currency(currency)); },
                  py::arg("currency") = "USD", "Zero in this currency.")
      .def_property_readonly("amount", [](const Money& self) { return to_py_decimal(self.amount()); },
                             "The exact amount as a decimal.Decimal.")
      .def_property_readonly("currency", [](const Money& self) { return std::string(self.currency().code()); },
                             "The ISO 4217 code.")
      .def("to_fixed", &Money::to_fixed,
           "The amount with exactly the currency's minor digits, rounded half-even: '12.50'.")
      .def(
          "round",
          [](const Money& self, py::handle unit, const std::string& mode) {
            return self.round(unit_or_minor(self, unit), rounding_mode(mode));
          },
          py::arg("unit") = py::none(), py::arg("mode") = "half_even",
          R"doc(Rounds to a multiple of `unit` (default: the currency's minor unit, 0.01 for USD).

`mode` is half_even (default), half_up, down, up, floor or ceiling; the decimal module's
ROUND_* names work too.)doc")
      .def(
          "allocate",
          [](const Money& self, const py::iterable& weights, py::handle unit) {
            std::vector<Decimal> w;
            for (py::handle x : weights) w.push_back(to_decimal(x, "weights"));
            return self.allocate(w, unit_or_minor(self, unit));
          },
          py::arg("weights"), py::arg("unit") = py::none(),
          R"doc(Splits the amount by non-negative weights into multiples of `unit` that sum to it exactly.

Largest remainder: every part takes the floor and the units left over go to the largest
fractional remainders, ties to the larger weight, then to the earlier part. The amount must
be a multiple of `unit` (default: the currency's minor unit).)doc")
      .def(-py::self)
      .def(py::self + py::self)
      .def(py::self - py::self)
      .def("__mul__", &times, py::is_operator())
      .def("__rmul__", &times, py::is_operator())
      .def(py::self == py::self)
      .def(py::self != py::self)
      .def(py::self < py::self)
      .def(py::self <= py::self)
      .def(py::self > py::self)
      .def(py::self >= py::self)
      .def("__hash__", [](const Money& self) { return py::hash(py::make_tuple(self.to_string(), std::string(self.currency().code()))); })
      .def("__bool__", [](const Money& self) { return !self.amount().is_zero(); })
      .def("__str__", [](const Money& self) { return self.to_string() + " " + std::string(self.currency().code()); })
      .def("__repr__", [](const Money& self) {
        return "Money('" + self.to_string() + "', '" + std::string(self.currency().code()) + "')";
      });
}

}  // namespace apportion::python
