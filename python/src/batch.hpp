#pragma once
// apportion.RecordBatch as register_records.cpp binds it, for the files that read one (the
// spec runner, PartialAggregate): the core's RecordBatch and the numpy arrays its spans
// point into, held so they outlive every read.

#include <pybind11/pybind11.h>

#include <vector>

#include "apportion/spec.hpp"

namespace apportion::python {

struct Batch {
  RecordBatch batch;
  std::vector<pybind11::object> arrays;  // every array a span of `batch` points into
};

}  // namespace apportion::python
