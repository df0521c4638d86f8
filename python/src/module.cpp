// apportion._core: the compiled half of the Python package. It only calls the register_*()
// functions; each concept lives in its own file. The pure-Python package `apportion`
// re-exports what is public.

#include "apportion/config.hpp"
#include "register.hpp"

PYBIND11_MODULE(_core, m) {
  namespace ap = apportion::python;
  m.doc() = "Compiled core of the apportion package; import `apportion` instead.";
  m.attr("__version__") = APPORTION_VERSION_STRING;
  ap::register_errors(m);
  ap::register_money(m);
  ap::register_tags(m);
  ap::register_catalog(m);
  ap::register_records(m);  // before the functions that take a RecordBatch
  ap::register_engine(m);
  ap::register_columnar(m);
}
