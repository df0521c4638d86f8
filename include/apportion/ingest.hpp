#pragma once
// Ingest: the formats platform teams already have (Prometheus, sacct, LiteLLM, FOCUS, ...)
// turned into the records, pools and catalog entries of the allocation spec. Parsers never
// allocate; each format is a file of its own under src/ingest/.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <optional>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/catalog.hpp"
#include "apportion/engine.hpp"
#include "apportion/plan.hpp"
#include "apportion/value.hpp"

APPORTION_BEGIN_NAMESPACE

struct IngestResult {
  std::vector<Record> records;
  std::vector<Pool> pools;
  std::optional<Catalog> catalog;
  // Rows that could not be read and were skipped because the caller asked for it
  // (`"skip_invalid": true`); never skipped silently otherwise.
  std::size_t skipped = 0;
  std::vector<std::string> skipped_reasons;  // the first 100 messages
  // What the file held in the format's own units (data rows, series, allocations, spans,
  // jobs), so a reader can tell how many rows became how many records.
  std::size_t rows = 0;
  // When the format summed its rows through the spec's plan as it read them (PlanScope):
  // the records the rows were, which `records` now holds the sums of.
  std::optional<std::size_t> records_read;
  std::vector<std::string> dropped_tags;  // then: the tag columns the plan did not keep
  // What was read but looks wrong in the real world (more GPU-seconds requested on a node
  // than it has, jobs a window leaves out): kept, and told, never hidden.
  std::vector<std::string> warnings;
};

// Reads `text` (the whole file) in one format. `options` holds the input's options (the
// spec's input object, or the command line's --OPTION VALUE pairs as strings); a parser
// reads its own keys and the caller refuses any left unread. `source` names the input in
// messages and record origins: an unreadable row is SpecError("<source> line N", what).
// A parser reads all its options first and calls options.finish() before any row, so a
// misspelt option is reported as such rather than as a row error it caused.
using IngestParser = std::function<IngestResult(std::string_view text, ObjectReader& options, const std::string& source)>;

// The same for a stream (a file being read): the parser reads it in blocks as it goes.
using IngestStreamParser =
    std::function<IngestResult(std::istream& in, ObjectReader& options, const std::string& source)>;

// The same for a folder (an MLflow file store, `mlruns/`): the parser reads the files in it.
using IngestFolderParser =
    std::function<IngestResult(const std::filesystem::path& folder, ObjectReader& options, const std::string& source)>;

// A format read from a server rather than a file (docs/ingest.md, "Live sources").
struct LiveSource {
  enum class Api {
    prometheus_range,     // `/api/v1/query_range` of a Prometheus-compatible server
    opencost_allocation,  // `/allocation/compute` of an OpenCost server
    mlflow_runs,          // `experiments/search` and `runs/search` of an MLflow tracking server
  };
  Api api = Api::prometheus_range;
  // Prometheus: the PromQL an input reads when it gives no `query` (from the format's own
  // options, such as dcgm's `metric`); nullopt when the format has none.
  std::function<std::optional<std::string>(ObjectReader& options)> default_query;
};

// What a live input may take from the run it is part of.
struct LiveContext {
  std::optional<Series> series;                  // the default window (and OpenCost's step)
  std::filesystem::path base_dir;                // where a bearer_token_file is found
  std::uint64_t max_bytes = 0;                   // of each answer; 0: no limit
};

class IngestRegistry {
 public:
  // The process-wide registry, holding every built-in format.
  static IngestRegistry& global();
  // Adds a format; a name already present is std::invalid_argument.
  void add(std::string format, IngestParser parser);
  bool contains(std::string_view format) const;
  std::vector<std::string> formats() const;
  // Parses with the named format; an unknown format is std::invalid_argument.
  IngestResult parse(std::string_view format, std::string_view text, ObjectReader& options,
                     const std::string& source) const;
  // Gives a registered format a streaming entry point, which reads the input block by
  // block instead of holding all of it (the csv format has one). A second one for a format,
  // or one for a format not registered, is std::invalid_argument.
  void add_stream(std::string_view format, IngestStreamParser parser);
  // Parses what `in` holds: through the format's streaming entry point when it has one,
  // else by reading all of it and calling parse(). The spec runner and `apportion ingest`
  // read files this way.
  IngestResult parse_stream(std::string_view format, std::istream& in, ObjectReader& options,
                            const std::string& source) const;
  // Gives a format a folder to read instead of a file. A second one for a format, or one for
  // a format not registered, is std::invalid_argument.
  void add_folder(std::string_view format, IngestFolderParser parser);
  // Reads the folder `folder` with the format's folder parser; a format without one is
  // SpecError(source, ...) saying it reads files.
  IngestResult parse_folder(std::string_view format, const std::filesystem::path& folder, ObjectReader& options,
                            const std::string& source) const;
  // Makes a format readable from a server: an input that gives `url` instead of `path`.
  // A second one for a format, or one for a format not registered, is std::invalid_argument.
  void add_live(std::string_view format, LiveSource source);
  // Whether the format can be read from a server.
  bool live(std::string_view format) const;
  // Reads an input from its `url` (with `query`, `start`, `end`, `step`, token and
  // transport options; docs/ingest.md, "Live sources"): fetches the answers, the parts of a
  // long range merged into one, and reads them as parse_stream reads a file saved so.
  // `source` is the address without credentials. A format not readable so, a bad option, an
  // unreachable server or an error answer is SpecError naming the option or the address.
  IngestResult parse_live(std::string_view format, ObjectReader& options, const LiveContext& context) const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, IngestParser, std::less<>> parsers_;
  std::map<std::string, IngestStreamParser, std::less<>> stream_parsers_;
  std::map<std::string, IngestFolderParser, std::less<>> folder_parsers_;
  std::map<std::string, LiveSource, std::less<>> live_sources_;
};

// Helpers parsers share.
namespace ingest {

// A list of names given as a JSON list or as one comma-separated string ("namespace,team"),
// so the same option works in a spec and on the command line.
std::vector<std::string> read_names(const Value& v, std::string_view path);
// A live input's address as messages and results show it: without the user and password
// it may carry (`https://user:secret@host/` is `https://host/`).
std::string shown_address(const std::string& url);
// A boolean given as JSON true/false or the strings "true"/"false".
bool read_flag(const Value& v, std::string_view path);
// A positive whole number (replicas, MIG slices): "must be a positive whole number".
Rational read_positive_whole(const Value& v, std::string_view path);
// A positive number of seconds: a number (`90`, `"1.5"`) or a Prometheus duration such as
// `"30s"`, `"5m"`, `"1h30m"` or `"250ms"` (units y, w, d, h, m, s, ms, largest first; a
// year is 365 days), exact.
Decimal read_seconds(const Value& v, std::string_view path);
// The block size the csv format's streaming reader reads (default 1 MiB); returns the
// previous one. For tests, which set a tiny one to put rows across block boundaries.
std::size_t set_csv_chunk_size(std::size_t bytes);
// The threads the csv format sums a file through the spec's plan with, and the spec
// runner reads a long inline `records` list with (0, the default: as many as the machine
// has, at most eight, or APPORTION_THREADS); returns the previous setting. For tests,
// which compare one thread with many.
unsigned set_csv_threads(unsigned threads);
// While the spec runner reads an input, the records it may yield before max_records is
// passed (with those before it): a parser that makes a record per row calls
// check_record_budget() as it goes, so a file too long for memory fails at the row that
// passes the limit, not when memory runs out. `exceeded` throws the limit's error. One
// budget per thread, for as long as the object lives; none: no check.
class RecordBudget {
 public:
  RecordBudget(std::size_t records, std::function<void()> exceeded);
  ~RecordBudget();
  RecordBudget(const RecordBudget&) = delete;
  RecordBudget& operator=(const RecordBudget&) = delete;

 private:
  friend void check_record_budget(std::size_t records);
  std::size_t records_;
  std::function<void()> exceeded_;
  RecordBudget* outer_;
};
// Throws through the thread's budget when `records` (made so far by this input) passes it.
void check_record_budget(std::size_t records);

// While the spec runner reads an input, the plan its records are read through (plan.hpp):
// a format that can reads only the plan's tags and measures and sums its rows as it goes
// (csv), setting IngestResult::records_read; what any format yields is read through the plan
// after. One per thread, for as long as the object lives; null: none.
class PlanScope {
 public:
  explicit PlanScope(const RecordPlan* plan);
  ~PlanScope();
  PlanScope(const PlanScope&) = delete;
  PlanScope& operator=(const PlanScope&) = delete;

 private:
  const RecordPlan* outer_;
};
const RecordPlan* current_plan() noexcept;

// While the spec runner reads an input of a spec with a series, its buckets (in order): a
// format reading a range of samples puts each sample's interval into the buckets it
// overlaps, one record per series and bucket (start and end the bucket's), instead of
// integrating the whole range. One per thread, for as long as the object lives; null: none.
class BucketScope {
 public:
  explicit BucketScope(const std::vector<Interval>* buckets);
  ~BucketScope();
  BucketScope(const BucketScope&) = delete;
  BucketScope& operator=(const BucketScope&) = delete;

 private:
  const std::vector<Interval>* outer_;
};
const std::vector<Interval>* current_buckets() noexcept;

// The error for a row that cannot be read, already naming its file and line: it passes
// through RowErrors::row unchanged.
class RowError : public SpecError {
 public:
  using SpecError::SpecError;
};

// Reads `skip_invalid` and collects skipped rows: call skip(result, where, what) in a
// catch block; it rethrows unless skipping was asked for.
class RowErrors {
 public:
  explicit RowErrors(ObjectReader& options);
  void skip(IngestResult& result, const std::string& where, const std::string& what) const;
  bool skipping() const noexcept { return skip_; }
  // From hold() until release(), what skip() is given is kept, in order, and acted on only
  // then: a format reading an answer a series at a time tells a series' errors after the
  // answer's syntax errors, as it does reading the whole text (which parses all of it
  // first). tell() acts at once, held or not.
  void hold() { holding_ = true; }
  void release(IngestResult& result);
  void tell(IngestResult& result, const std::vector<std::pair<std::string, std::string>>& errors) const;
  // Reads one row with `read_row`; whatever it throws for bad input (SpecError,
  // ParseError, any std::invalid_argument or std::overflow_error) goes to skip() under
  // `where`. Returns whether the row was read. The records made so far are checked against
  // the thread's RecordBudget, so every format that reads rows through it fails early.
  template <class ReadRow>
  bool row(IngestResult& result, const std::string& where, ReadRow&& read_row) const {
    try {
      read_row();
    } catch (const RowError&) {
      throw;  // a row inside this one, already located
    } catch (const std::invalid_argument& e) {
      skip(result, where, e.what());
      return false;
    } catch (const std::overflow_error& e) {
      skip(result, where, e.what());
      return false;
    }
    check_record_budget(result.records.size());
    return true;
  }

 private:
  bool skip_ = false;
  bool holding_ = false;
  mutable std::vector<std::pair<std::string, std::string>> held_;  // where, what
  void act(IngestResult& result, const std::string& where, const std::string& what) const;
};

}  // namespace ingest

// Tags joined from a second source onto records, the way PromQL's `group_left` joins pod
// labels onto DCGM series: each record whose `on` tags equal a table record's takes every
// tag of that table record it lacks (its own values win). A record lacking an `on` tag, or
// without a match, is left as it is and counted as unmatched. Two table records with equal
// `on` tags but different tags are SpecError(`where`, ...) naming both origins.
struct JoinCounts {
  std::size_t matched = 0, unmatched = 0;
};
JoinCounts join_tags(std::vector<Record>& records, const std::vector<Record>& table, const std::vector<std::string>& on,
                     const std::string& where);

// Records, pools or a catalog as spec JSON ({"records": [...]}, ...), decimals exact and
// unrounded, with `skipped` rows and `warnings` when there are any: what `apportion ingest`
// prints.
std::string ingest_result_to_json(const IngestResult& result);

APPORTION_END_NAMESPACE
