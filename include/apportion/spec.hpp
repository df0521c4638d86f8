#pragma once
// The allocation spec (docs/spec.md): one JSON document in, one result document out.
// The same function serves the C++ API, the C ABI, the Python package and the command line.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/catalog.hpp"
#include "apportion/engine.hpp"
#include "apportion/limits.hpp"
#include "apportion/strategy.hpp"
#include "apportion/value.hpp"

APPORTION_BEGIN_NAMESPACE

// How far the reading of one input file has got, for progress displays.
struct InputProgress {
  std::string path;                  // the input's path as the spec writes it
  std::uint64_t bytes = 0;           // read so far
  std::uint64_t total_bytes = 0;     // the file's size (0 when unknown)
  std::uint64_t lines = 0;           // line breaks read so far (a header line included)
  std::chrono::steady_clock::duration elapsed{};
  bool done = false;                 // the last report for this file
  // In the last report of a file read whole: what it held in its format's units (data
  // rows, series, jobs: IngestResult::rows) and the records it yielded.
  std::optional<std::uint64_t> rows, records;
};

// Records held as columns (a DataFrame, Arrow arrays, C arrays), read as if appended to the
// spec's own `records`, through the same plan and with the same checks, without a Record or
// a JSON text per row. Tags are dictionary-encoded; measures are integers at a decimal scale.
// The spans point into the caller's memory, which must outlive the read.
struct RecordBatch {
  struct TagColumn {
    std::string key;
    std::vector<std::string> dictionary;  // the values the codes index
    std::span<const std::int32_t> codes;  // per row: an index into dictionary, or -1 for no tag
    // Set, in place of `dictionary` and `codes`, for a column encoded only when it is read
    // (the Python package's columns of str): gives the column encoded, made once and kept
    // by the caller. A run calls it only when its plan reads the key, so a tag no step
    // reads costs no encoding.
    std::function<const TagColumn&()> encoded{};
  };
  struct MeasureColumn {
    std::string name;
    std::span<const std::int64_t> values;   // per row: the measure x 10^scale
    int scale = 0;                          // fractional digits, 0 to 12
    std::span<const std::uint8_t> present;  // per row: 0 for no value; empty: every row has one
  };
  std::size_t rows = 0;
  std::vector<TagColumn> tags;
  std::vector<MeasureColumn> measures;
  std::optional<std::string> pool;  // the pool of every row, if any
  std::string source = "batch";     // names rows in messages: "batch row 3"
};

struct SpecOptions {
  // The folder `inputs` paths are relative to: the spec file's folder, or the working
  // directory for a spec read from standard input or memory.
  std::filesystem::path base_dir = ".";
  // Strategies by name; null means StrategyRegistry::global().
  const StrategyRegistry* registry = nullptr;
  // Limits against resource exhaustion (limits.hpp); input past one is SpecError.
  Limits limits;
  // Called while `inputs` files are read: every `progress_interval` or so, and once when a
  // file is done (or has failed). Empty: no reports, and no counting. An exception it
  // throws cancels the run: reading stops and the exception propagates.
  std::function<void(const InputProgress&)> progress;
  std::chrono::steady_clock::duration progress_interval = std::chrono::milliseconds(250);
  // Read records through the plan the steps make (plan.hpp): rows that agree on what the
  // steps read become one record of their sums, other tags and measures dropped. The
  // result is the same either way; false keeps every record whole, for a caller that reads
  // the Allocation's records itself.
  bool plan_records = true;
  // Records as columns, read after the spec's `records` (and before its inputs).
  std::vector<RecordBatch> batches;
  // Whether an input may read a server (`url`, docs/ingest.md "Live sources"). A service that
  // runs specs it is sent turns this off, so that a spec cannot make it fetch an address of
  // the spec's choosing; a live input is then an error.
  bool live_sources = true;
};

// Reads a parsed spec document into an Allocation, checking every key and value. Records
// are read through the steps' plan (SpecOptions::plan_records).
Allocation allocation_from_spec(const Value& spec, const SpecOptions& options = {});
// Parses and reads spec JSON text: the same Allocation and the same errors as
// allocation_from_spec(parse_json(text), options), faster for long `records` lists, which
// it reads without building their Value tree.
Allocation allocation_from_json(std::string_view text, const SpecOptions& options = {});
// The result document of the spec, as JSON text (deterministic: same input, same bytes).
std::string result_to_json(const Result& result);
// Parses, runs and renders: spec JSON text in, result JSON text out. Bad input is SpecError.
std::string run_spec(std::string_view spec_json, const SpecOptions& options = {});

// Catalogs in the spec's catalog format ({"skus": [...]}).
Catalog catalog_from_value(const Value& value, std::string_view path = "catalog");
Catalog parse_catalog(std::string_view json);
Catalog load_catalog(const std::filesystem::path& file);
std::string catalog_to_json(const Catalog& catalog);

APPORTION_END_NAMESPACE
