// `sacct`: Slurm job accounting (`sacct -P --format=...`) turned into priced runs for the
// per_experiment strategy, one record per job allocation and GPU type. See docs/ingest.md,
// "## sacct".

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/json.hpp"
#include "csv_reader.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {
namespace {

// A row that cannot be read: "<column>: what is wrong", reported for the row's line.
struct RowError {
  std::string what;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + sep.size();
  }
}

// An option that is one value for every job, or a map from a job's GPU type (or partition)
// to a value with "*" for the rest: {"a100": "onprem/a100", "*": "onprem/h100"}, or the
// same as text, "a100=onprem/a100,*=onprem/h100", as the command line gives it.
struct ByKey {
  std::optional<std::string> single;
  std::map<std::string, std::string, std::less<>> map;  // "*" included

  bool is_map() const noexcept { return !single; }
  const std::string* find(std::string_view key) const {
    if (single) return &*single;
    const auto it = map.find(key);
    return it != map.end() ? &it->second : nullptr;
  }
  const std::string* fallback() const { return single ? &*single : find("*"); }
};

ByKey read_by_key(const Value& v, const std::string& path, std::string_view key_name) {
  ByKey out;
  const auto add = [&](std::string key, std::string value) {
    if (key.empty() || value.empty())
      throw SpecError(path, "a " + std::string(key_name) + " and its value must not be empty");
    if (!out.map.emplace(key, std::move(value)).second)
      throw SpecError(path, std::string(key_name) + " \"" + key + "\" given twice");
  };
  if (v.is(Value::Type::object)) {
    for (const Value::Member& m : v.members()) add(m.first, read_string(m.second, path_join(path, m.first)));
    if (out.map.empty()) throw SpecError(path, "must not be empty");
    return out;
  }
  const std::string text = read_string(v, path);
  if (text.empty()) throw SpecError(path, "must not be empty");
  if (text.find('=') == std::string::npos) {
    out.single = text;
    return out;
  }
  for (std::string_view item : split(text, ",")) {
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      throw SpecError(path, "\"" + std::string(item) + "\" is not " + std::string(key_name) + "=value");
    add(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  return out;
}

enum class CpuJobs { skip, error };
enum class TagsFrom { none, comment, wckey };

struct Options {
  ByKey sku;                  // by GPU type
  std::optional<ByKey> tier;  // by partition
  std::string offset = "Z";   // appended to sacct's zone-less local times
  CpuJobs cpu_jobs = CpuJobs::skip;
  enum class Running { error, skip, close } running = Running::error;
  Instant close_at;
  std::string experiment_from = "JobName";
  TagsFrom tags_from = TagsFrom::none;
  std::string delimiter = "|";
  std::optional<Instant> window_start, window_end;  // runs are clipped to [start, end)
};

// "UTC" or a fixed offset "+HH:MM" / "-HH:MM".
std::string read_offset(const Value& v, const std::string& path) {
  const std::string text = read_string(v, path);
  if (text == "UTC") return "Z";
  const auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(text[i])) != 0; };
  if (text.size() == 6 && (text[0] == '+' || text[0] == '-') && digit(1) && digit(2) && text[3] == ':' && digit(4) &&
      digit(5)) {
    const int hours = (text[1] - '0') * 10 + (text[2] - '0');
    const int minutes = (text[4] - '0') * 10 + (text[5] - '0');
    if (hours <= 23 && minutes <= 59) return text;
  }
  throw SpecError(path, "must be \"UTC\" or a fixed offset such as \"+02:00\" (got \"" + text + "\")");
}

Options read_options(ObjectReader& options) {
  Options o;
  o.sku = read_by_key(options.required("sku"), options.path("sku"), "GPU type");
  if (const Value* v = options.optional("tier")) o.tier = read_by_key(*v, options.path("tier"), "partition");
  if (const Value* v = options.optional("timezone")) o.offset = read_offset(*v, options.path("timezone"));
  if (const Value* v = options.optional("cpu_jobs")) {
    const std::string text = read_string(*v, options.path("cpu_jobs"));
    if (text == "skip") o.cpu_jobs = CpuJobs::skip;
    else if (text == "error") o.cpu_jobs = CpuJobs::error;
    else throw SpecError(options.path("cpu_jobs"), "must be \"skip\" or \"error\" (got \"" + text + "\")");
  }
  if (const Value* v = options.optional("running")) {
    const std::string text = read_string(*v, options.path("running"));
    if (text == "error") {
      o.running = Options::Running::error;
    } else if (text == "skip") {
      o.running = Options::Running::skip;
    } else {
      try {
        o.close_at = Instant::parse(text);
      } catch (const ParseError&) {
        throw SpecError(options.path("running"),
                        "must be \"error\", \"skip\" or an RFC 3339 time to close running jobs at (got \"" + text + "\")");
      }
      o.running = Options::Running::close;
    }
  }
  if (const Value* v = options.optional("experiment_from")) {
    o.experiment_from = read_string(*v, options.path("experiment_from"));
    if (o.experiment_from.empty()) throw SpecError(options.path("experiment_from"), "must name a column");
  }
  if (const Value* v = options.optional("tags_from")) {
    const std::string text = read_string(*v, options.path("tags_from"));
    if (text == "none") o.tags_from = TagsFrom::none;
    else if (lower(text) == "comment") o.tags_from = TagsFrom::comment;
    else if (lower(text) == "wckey") o.tags_from = TagsFrom::wckey;
    else throw SpecError(options.path("tags_from"), "must be \"Comment\", \"WCKey\" or \"none\" (got \"" + text + "\")");
  }
  if (const Value* v = options.optional("delimiter")) {
    o.delimiter = read_string(*v, options.path("delimiter"));
    if (o.delimiter.empty()) throw SpecError(options.path("delimiter"), "must not be empty");
  }
  if (const Value* v = options.optional("start")) o.window_start = read_instant(*v, options.path("start"));
  if (const Value* v = options.optional("end")) o.window_end = read_instant(*v, options.path("end"));
  if (o.window_start && o.window_end && *o.window_end <= *o.window_start)
    throw SpecError(options.path("end"), "must be after start (" + o.window_start->to_string() + ")");
  return o;
}

// sacct's default time format, `2026-06-02T10:00:00`, read in the configured zone.
Instant read_time(std::string_view column, std::string_view text, const std::string& offset) {
  static constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
  bool ok = text.size() == shape.size();
  for (std::size_t i = 0; ok && i < shape.size(); ++i)
    ok = shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0 : text[i] == shape[i];
  if (ok) {
    try {
      return Instant::parse(std::string(text) + offset);
    } catch (const ParseError&) {
    }
  }
  throw RowError{std::string(column) + ": not a time of the form 2026-06-02T10:00:00 (got \"" + std::string(text) + "\")"};
}

// The GPUs of one type in an allocation; no type for GPUs AllocTRES counts only in the
// untyped total.
struct GpuPart {
  std::optional<std::string> type;
  Decimal count;
};

// GPUs allocated, from AllocTRES, by type. The untyped `gres/gpu=N` is the total; the typed
// `gres/gpu:TYPE=N` entries are the part of it whose type accounting tracks (Slurm records a
// typed count only for the types named in AccountingStorageTRES, beside the untyped total),
// so the total less the typed counts is a part with no type. Without an untyped total, the
// typed entries are all there is. Empty when no GPU is listed.
std::vector<GpuPart> gpus_of(std::string_view tres) {
  std::optional<Decimal> untyped;
  std::map<std::string, Decimal, std::less<>> typed;
  for (std::string_view entry : split(tres, ",")) {
    const std::size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0)
      throw RowError{"AllocTRES: \"" + std::string(entry) + "\" is not NAME=COUNT"};
    const std::string_view name = entry.substr(0, eq);
    const bool is_untyped = name == "gres/gpu";
    const bool is_typed = name.starts_with("gres/gpu:") && name.size() > 9;
    if (!is_untyped && !is_typed) continue;  // cpu, mem, node, billing, gres/gpumem, gres/gpuutil, ...
    const std::string_view count = entry.substr(eq + 1);
    const bool digits = !count.empty() && std::all_of(count.begin(), count.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
    if (!digits || count.size() > 9)
      throw RowError{"AllocTRES: " + std::string(name) + " must be a whole number of GPUs (got \"" + std::string(count) + "\")"};
    const Decimal n = Decimal::parse(count);
    if (is_untyped) {
      if (untyped) throw RowError{"AllocTRES: gres/gpu given twice"};
      untyped = n;
    } else if (!typed.emplace(std::string(name.substr(9)), n).second) {
      throw RowError{"AllocTRES: " + std::string(name) + " given twice"};
    }
  }
  std::vector<GpuPart> parts;
  Decimal typed_total;
  for (const auto& [type, n] : typed) {
    typed_total = typed_total + n;
    if (!n.is_zero()) parts.push_back({type, n});
  }
  if (untyped) {
    if (typed_total > *untyped)
      throw RowError{"AllocTRES: the typed GPU counts (" + typed_total.to_string() + ") exceed gres/gpu (" +
                     untyped->to_string() + ")"};
    if (*untyped > typed_total) parts.push_back({std::nullopt, *untyped - typed_total});
  }
  return parts;
}

// The Comment column as a JSON object of string tags. sacct prints it as it was set, quotes
// and all (`sacct -P` neither quotes nor escapes a field).
Tags comment_tags(std::string_view text) {
  if (text.empty()) return {};
  try {
    return read_tags(parse_json(text), "Comment");
  } catch (const std::exception& e) {
    throw RowError{"Comment: not a JSON object of string tags (" + std::string(e.what()) + ")"};
  }
}

// The WCKey column: `key=value,key=value`, or one bare name taken as the team. A leading
// `*` (Slurm's mark of a default WCKey) is dropped.
Tags wckey_tags(std::string_view text) {
  if (!text.empty() && text.front() == '*') text.remove_prefix(1);
  if (text.empty()) return {};
  if (text.find('=') == std::string_view::npos) {
    if (text.find(',') != std::string_view::npos)
      throw RowError{"WCKey: \"" + std::string(text) + "\" is neither one name nor key=value pairs"};
    return Tags{{"team", std::string(text)}};
  }
  std::vector<Tags::Pair> pairs;
  for (std::string_view item : split(text, ",")) {
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == item.size())
      throw RowError{"WCKey: \"" + std::string(item) + "\" is not key=value"};
    pairs.emplace_back(std::string(item.substr(0, eq)), std::string(item.substr(eq + 1)));
  }
  try {
    return Tags(std::move(pairs));
  } catch (const std::invalid_argument& e) {
    throw RowError{"WCKey: " + std::string(e.what())};
  }
}

bool unset_time(std::string_view text) { return text.empty() || text == "Unknown" || text == "None"; }

std::string gpus_text(const Decimal& n) { return n.to_string() + (n == Decimal(1) ? " GPU" : " GPUs"); }

// A run that lies wholly outside the window: told in one warning, never a record.
struct Outside {
  std::size_t line;
  std::string job_id;
  Instant start, end;
};

std::string outside_warning(const std::string& source, const Options& o, const std::vector<Outside>& outside) {
  constexpr std::size_t listed = 10;
  std::string window;
  if (o.window_start) window += "from " + o.window_start->to_string();
  if (o.window_end) window += std::string(window.empty() ? "" : " ") + "until " + o.window_end->to_string();
  std::string text = source + ": " + std::to_string(outside.size()) + (outside.size() == 1 ? " job" : " jobs") +
                     " ran wholly outside the window (" + window + ") and " + (outside.size() == 1 ? "is" : "are") +
                     " left out: ";
  for (std::size_t i = 0; i < outside.size() && i < listed; ++i)
    text += std::string(i ? ", " : "") + "line " + std::to_string(outside[i].line) + " (job " + outside[i].job_id + ", " +
            outside[i].start.to_string() + " to " + outside[i].end.to_string() + ")";
  if (outside.size() > listed) text += ", ...";
  return text;
}

IngestResult parse_sacct(std::string_view text, ObjectReader& reader, const std::string& source) {
  const Options o = read_options(reader);
  const RowErrors errors(reader);
  reader.finish();  // a misspelt option is reported before any row is read
  IngestResult result;

  // Lines, numbered from 1, without their line ending.
  std::vector<std::string_view> lines = split(text, "\n");
  for (std::string_view& line : lines)
    if (line.ends_with('\r')) line.remove_suffix(1);
  if (lines.empty() || lines.front().empty()) throw SpecError(source + " line 1", "expected the sacct -P header line");

  // The header: columns are found by name (case-insensitive), in any order. `sacct -p`
  // ends every line with the delimiter, which gives a last column with no name; it is ignored.
  const std::vector<std::string_view> header = split(lines.front(), o.delimiter);
  std::map<std::string, std::size_t> columns;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i].empty()) continue;
    if (!columns.emplace(lower(header[i]), i).second)
      throw SpecError(source + " line 1", "column \"" + std::string(header[i]) + "\" given twice");
  }
  const auto column = [&](std::string_view name) -> std::optional<std::size_t> {
    const auto it = columns.find(lower(name));
    return it == columns.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  };
  const auto require = [&](std::string_view name) {
    const auto c = column(name);
    if (!c) throw SpecError(source + " line 1", "missing column \"" + std::string(name) + "\" (sacct -P --format=JobID,JobName,Start,End,AllocTRES,...)");
    return *c;
  };
  const std::size_t job_id_col = require("JobID");
  const std::size_t start_col = require("Start");
  const std::size_t end_col = require("End");
  const std::size_t tres_col = require("AllocTRES");
  const std::size_t experiment_col = require(o.experiment_from);
  constexpr std::size_t no_column = static_cast<std::size_t>(-1);
  const std::size_t tags_col = o.tags_from == TagsFrom::comment ? require("Comment")
                               : o.tags_from == TagsFrom::wckey ? require("WCKey")
                                                                : no_column;
  const std::size_t partition_col = o.tier && o.tier->is_map() ? require("Partition") : no_column;
  const std::vector<std::pair<std::string, std::optional<std::size_t>>> column_tags{
      {"user", column("User")}, {"account", column("Account")}, {"partition", column("Partition")}};

  // Runs by JobID, each with the line and Start it was read from: `sacct -D` lists every
  // run of a requeued (or resized) job under its one JobID, each with its own Start.
  std::map<std::string, std::vector<std::pair<std::size_t, Instant>>, std::less<>> runs;
  std::vector<std::pair<std::string, Instant>> kept_runs;  // JobID and Start of each run made a record
  std::vector<std::size_t> run_of_record;                  // per record: its index in kept_runs
  std::vector<std::string> part_suffix;                    // per record: ":a100", or empty
  std::vector<Outside> outside;
  for (std::size_t index = 1; index < lines.size(); ++index) {
    const std::string_view line = lines[index];
    if (line.empty()) continue;
    ++result.rows;
    const std::string where = source + " line " + std::to_string(index + 1);
    try {
      if (const std::string problem = utf8_problem(line); !problem.empty()) throw RowError{"the line " + problem};
      const std::vector<std::string_view> fields = split(line, o.delimiter);
      if (fields.size() != header.size())
        throw RowError{"has " + std::to_string(fields.size()) + " fields separated by " + o.delimiter + ", the header has " +
                       std::to_string(header.size())};
      const std::string_view job_id = fields[job_id_col];
      if (job_id.empty()) throw RowError{"JobID: is empty"};
      // Job steps (1234.batch, 1234.extern, 1234.0) run inside their job's allocation.
      if (job_id.find('.') != std::string_view::npos) continue;
      const std::string_view start_text = fields[start_col];
      const std::string_view end_text = fields[end_col];
      const std::string_view tres = fields[tres_col];
      // Pending (or cancelled before it started): it holds nothing.
      if (unset_time(start_text) || tres.empty()) continue;

      const Instant start = read_time("Start", start_text, o.offset);
      Instant end;
      if (unset_time(end_text)) {
        if (o.running == Options::Running::skip) continue;
        if (o.running == Options::Running::error)
          throw RowError{"End: job " + std::string(job_id) + " has not ended (End \"" + std::string(end_text) +
                         "\"); set the option running to \"skip\" or to a time to close running jobs at"};
        end = o.close_at;
        if (end < start)
          throw RowError{"End: the time running jobs are closed at (" + end.to_string() + ") is before the job's Start (" +
                         start.to_string() + ")"};
      } else {
        end = read_time("End", end_text, o.offset);
        if (end < start)
          throw RowError{"End: " + end.to_string() + " is before Start " + start.to_string()};
      }

      const std::vector<GpuPart> parts = gpus_of(tres);
      if (parts.empty()) {
        if (o.cpu_jobs == CpuJobs::skip) continue;
        throw RowError{"AllocTRES: job " + std::string(job_id) + " was allocated no GPUs (\"" + std::string(tres) + "\")"};
      }

      // What the job's columns say, then what its user wrote in the Comment or WCKey, which
      // wins: `sbatch --comment='{"experiment":"run-42"}'` names the experiment, not JobName.
      std::vector<Tags::Pair> pairs;
      const auto set = [&](std::string key, std::string value) {
        for (Tags::Pair& p : pairs)
          if (p.first == key) {
            p.second = std::move(value);
            return;
          }
        pairs.emplace_back(std::move(key), std::move(value));
      };
      if (!fields[experiment_col].empty()) set("experiment", std::string(fields[experiment_col]));
      for (const auto& [key, col] : column_tags)
        if (col && !fields[*col].empty()) set(key, std::string(fields[*col]));
      if (tags_col != no_column) {
        const std::string_view name = o.tags_from == TagsFrom::comment ? "Comment" : "WCKey";
        const Tags extra = o.tags_from == TagsFrom::comment ? comment_tags(fields[tags_col]) : wckey_tags(fields[tags_col]);
        for (const auto& [key, value] : extra) {
          if (key == "job_id" || key == "gpu_type")
            throw RowError{std::string(name) + ": tag \"" + key + "\" is the job's own (from JobID and AllocTRES) and may not be set here"};
          set(key, value);
        }
      }
      set("job_id", std::string(job_id));

      std::optional<std::string> tier;
      if (o.tier) {
        const std::string_view partition = partition_col != no_column ? fields[partition_col] : std::string_view{};
        const std::string* t = o.tier->find(partition);
        if (!t) t = o.tier->fallback();
        if (!t)
          throw RowError{"Partition: job " + std::string(job_id) + " ran in partition \"" + std::string(partition) +
                         "\", which the option tier does not map (add it, or \"*\" for the rest)"};
        tier = *t;
      }
      std::vector<std::string> skus;
      for (const GpuPart& part : parts) {
        const std::string* sku = part.type ? o.sku.find(*part.type) : nullptr;
        if (!sku) sku = o.sku.fallback();
        if (!sku && part.type)
          throw RowError{"AllocTRES: job " + std::string(job_id) + " has " + gpus_text(part.count) + " of type \"" +
                         *part.type + "\", which the option sku does not map (add \"" + *part.type + "\", or \"*\" for the rest)"};
        if (!sku)
          throw RowError{"AllocTRES: job " + std::string(job_id) + " has " + gpus_text(part.count) +
                         " of no type (\"" + std::string(tres) + "\") and the option sku has no \"*\" for them"};
        skus.push_back(*sku);
      }

      auto& seen = runs[std::string(job_id)];
      for (const auto& run : seen)
        if (run.second == start)
          throw RowError{"JobID: job " + std::string(job_id) + " is also on line " + std::to_string(run.first) +
                         " with the same Start (a line given twice?)"};
      seen.emplace_back(index + 1, start);

      // The run's part in the window: clipped to it, or, wholly outside, told and left out.
      // A run of zero length is inside when its instant is.
      const bool before = o.window_start && (end < *o.window_start || (end == *o.window_start && start < end));
      const bool after = o.window_end && start >= *o.window_end;
      if (before || after) {
        outside.push_back({index + 1, std::string(job_id), start, end});
        continue;
      }
      // A run that crosses the window's edge keeps its real times and bills the window's
      // part of its whole cost, so the months of a run sum to it whatever its billing.
      std::optional<Interval> window;
      if ((o.window_start && start < *o.window_start) || (o.window_end && end > *o.window_end))
        window = Interval(o.window_start ? std::max(start, *o.window_start) : start,
                          o.window_end ? std::min(end, *o.window_end) : end);

      kept_runs.emplace_back(std::string(job_id), start);
      const Tags tags(std::move(pairs));
      for (std::size_t i = 0; i < parts.size(); ++i) {
        Record r;
        r.tags = parts[i].type ? tags.with("gpu_type", *parts[i].type) : tags;
        r.start = start;
        r.end = end;
        r.window = window;
        r.count = parts[i].count;
        r.sku = skus[i];
        r.tier = tier;
        r.origin = where;
        result.records.push_back(std::move(r));
        run_of_record.push_back(kept_runs.size() - 1);
        part_suffix.push_back(parts.size() == 1 ? "" : ":" + parts[i].type.value_or("untyped"));
      }
    } catch (const RowError& e) {
      errors.skip(result, where, e.what);
    }
  }
  // Ids once every run is known: the JobID, with `@Start` when the file holds several runs
  // of the job, and `:TYPE` for each GPU type of a job holding more than one.
  for (std::size_t i = 0; i < result.records.size(); ++i) {
    const auto& [job_id, start] = kept_runs[run_of_record[i]];
    std::string id = job_id;
    if (runs.at(job_id).size() > 1) id += "@" + start.to_string();
    result.records[i].id = id + part_suffix[i];
  }
  if (!outside.empty()) result.warnings.push_back(outside_warning(source, o, outside));
  return result;
}

}  // namespace

void register_sacct(IngestRegistry& registry) { registry.add("sacct", parse_sacct); }

}  // namespace ingest
APPORTION_END_NAMESPACE
