#pragma once
// The pieces of the apportion._core module, one register_*() per concept, and the value
// conversions they share. Numbers cross the boundary as decimal.Decimal, str or int, never
// as a binary float.

#include <pybind11/pybind11.h>

#include <string>

#include "apportion/decimal.hpp"
#include "apportion/time.hpp"

namespace apportion::python {

namespace py = pybind11;

void register_errors(py::module_& m);
void register_money(py::module_& m);
void register_tags(py::module_& m);
void register_catalog(py::module_& m);
void register_records(py::module_& m);
void register_engine(py::module_& m);
void register_columnar(py::module_& m);

// An exact amount from a str (JSON number syntax), an int or a decimal.Decimal. A float
// is TypeError that says why; `what` names the argument in messages.
Decimal to_decimal(py::handle value, const char* what);
// A decimal.Decimal holding exactly this value.
py::object to_py_decimal(Decimal value);
// The exact value of a rational, rounded half-even to the 12 fractional digits a Decimal
// holds, as a decimal.Decimal.
py::object to_py_decimal(const Rational& value);
// An instant from RFC 3339 text or a timezone-aware datetime.datetime; a naive datetime
// is TypeError, since its moment is unknown.
Instant to_instant(py::handle value, const char* what);

}  // namespace apportion::python
