// Value conversions shared by the register_*() files.

#include "register.hpp"

namespace apportion::python {

namespace {

py::object decimal_type() { return py::module_::import("decimal").attr("Decimal"); }

[[noreturn]] void refuse(py::handle value, const char* what) {
  if (py::isinstance<py::float_>(value))
    throw py::type_error(std::string(what) +
                         ": a float is a binary fraction and cannot hold most decimal amounts exactly "
                         "(0.1 is 0.1000000000000000055...); pass a str, an int or a decimal.Decimal");
  throw py::type_error(std::string(what) + ": expected a str, an int or a decimal.Decimal, got " +
                       std::string(py::str(py::type::handle_of(value).attr("__name__"))));
}

}  // namespace

Decimal to_decimal(py::handle value, const char* what) {
  if (py::isinstance<py::bool_>(value)) refuse(value, what);
  if (py::isinstance<py::str>(value)) return Decimal::parse(value.cast<std::string>());
  // numbers.Integral covers int and numpy's integers; their str() is exact.
  if (py::isinstance(value, py::module_::import("numbers").attr("Integral")) ||
      py::isinstance(value, decimal_type()))
    return Decimal::parse(py::str(value).cast<std::string>());
  refuse(value, what);
}

py::object to_py_decimal(Decimal value) { return decimal_type()(value.to_string()); }

py::object to_py_decimal(const Rational& value) {
  return to_py_decimal(Decimal::from_rational(value, Decimal::from_raw(1)));
}

Instant to_instant(py::handle value, const char* what) {
  if (py::isinstance<py::str>(value)) return Instant::parse(value.cast<std::string>());
  if (py::isinstance(value, py::module_::import("datetime").attr("datetime"))) {
    if (value.attr("utcoffset")().is_none())
      throw py::type_error(std::string(what) +
                           ": a naive datetime names no moment; give it a timezone (datetime.timezone.utc)");
    return Instant::parse(value.attr("isoformat")().cast<std::string>());
  }
  throw py::type_error(std::string(what) + ": expected RFC 3339 text or a timezone-aware datetime, got " +
                       std::string(py::str(py::type::handle_of(value).attr("__name__"))));
}

}  // namespace apportion::python
