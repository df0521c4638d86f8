// Exceptions: the library's invalid-input errors become apportion.SpecError (a ValueError)
// or one of its subclasses; apportion::OverflowError is Python's OverflowError, and an
// internal fault (std::logic_error) stays a RuntimeError.

#include <Python.h>

#include "apportion/errors.hpp"
#include "register.hpp"

namespace apportion::python {

namespace {

// Created once per process and never freed: the translator may run until the interpreter
// is gone, and exception types are immortal in practice.
PyObject* spec_error = nullptr;
PyObject* parse_error = nullptr;
PyObject* currency_mismatch = nullptr;
PyObject* price_not_found = nullptr;

PyObject* new_exception(py::module_& m, const char* name, PyObject* base, const char* doc) {
  const std::string qualified = std::string("apportion.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // add_object takes its own reference
  return type;
}

}  // namespace

void register_errors(py::module_& m) {
  spec_error = new_exception(m, "SpecError", PyExc_ValueError,
                             "Invalid input: a spec, amount, date or catalog the library refuses.\n\n"
                             "The message starts with the JSON path of the offending value, exactly as\n"
                             "the command line prints it.");
  parse_error = new_exception(m, "ParseError", spec_error, "Text that is not a valid value (a number, a date, a currency code).");
  currency_mismatch = new_exception(m, "CurrencyMismatch", spec_error, "Arithmetic or comparison across currencies.");
  price_not_found = new_exception(m, "PriceNotFound", spec_error, "A catalog has no price for a SKU and tier at some moment.");

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ParseError& e) {
      PyErr_SetString(parse_error, e.what());
    } catch (const CurrencyMismatch& e) {
      PyErr_SetString(currency_mismatch, e.what());
    } catch (const PriceNotFound& e) {
      PyErr_SetString(price_not_found, e.what());
    } catch (const std::invalid_argument& e) {  // SpecError and the rest of the invalid input
      PyErr_SetString(spec_error, e.what());
    }
  });
}

}  // namespace apportion::python
