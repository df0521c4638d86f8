// `sacct`: Slurm job accounting (`sacct -P --format=...`) turned into priced runs for the
// per_experiment strategy, one record per job allocation. See docs/ingest.md, "## sacct".

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
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

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

enum class CpuJobs { skip, error };
enum class TagsFrom { none, comment, wckey };

struct Options {
  std::string sku;
  std::optional<std::string> tier;
  std::string offset = "Z";  // appended to sacct's zone-less local times
  CpuJobs cpu_jobs = CpuJobs::skip;
  enum class Running { error, skip, close } running = Running::error;
  Instant close_at;
  std::string experiment_from = "JobName";
  TagsFrom tags_from = TagsFrom::none;
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
  o.sku = read_string(options.required("sku"), options.path("sku"));
  if (o.sku.empty()) throw SpecError(options.path("sku"), "must not be empty");
  if (const Value* v = options.optional("tier")) {
    o.tier = read_string(*v, options.path("tier"));
    if (o.tier->empty()) throw SpecError(options.path("tier"), "must not be empty");
  }
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

// GPUs allocated, from AllocTRES: the untyped `gres/gpu=N` when present, else the sum of
// the typed `gres/gpu:TYPE=N` entries (Slurm lists the untyped total beside the typed
// counts, so adding both would count every GPU twice). Nothing when no GPU is listed.
std::optional<Decimal> gpus_of(std::string_view tres) {
  std::optional<Decimal> untyped;
  std::optional<Decimal> typed;
  for (std::string_view entry : split(tres, ',')) {
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
    } else {
      typed = typed.value_or(Decimal{}) + n;
    }
  }
  return untyped ? untyped : typed;
}

// The Comment column as a JSON object of string tags.
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
  for (std::string_view item : split(text, ',')) {
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

IngestResult parse_sacct(std::string_view text, ObjectReader& reader, const std::string& source) {
  const Options o = read_options(reader);
  const RowErrors errors(reader);
  reader.finish();  // a misspelt option is reported before any row is read
  IngestResult result;

  // Lines, numbered from 1, without their line ending.
  std::vector<std::string_view> lines = split(text, '\n');
  for (std::string_view& line : lines)
    if (line.ends_with('\r')) line.remove_suffix(1);
  if (lines.empty() || lines.front().empty()) throw SpecError(source + " line 1", "expected the sacct -P header line");

  // The header: columns are found by name (case-insensitive), in any order. `sacct -p`
  // ends every line with a `|`, which gives a last column with no name; it is ignored.
  const std::vector<std::string_view> header = split(lines.front(), '|');
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
  const std::vector<std::pair<std::string, std::optional<std::size_t>>> column_tags{
      {"user", column("User")}, {"account", column("Account")}, {"partition", column("Partition")}};

  std::map<std::string, std::size_t, std::less<>> seen;  // JobID -> line
  for (std::size_t index = 1; index < lines.size(); ++index) {
    const std::string_view line = lines[index];
    if (line.empty()) continue;
    const std::string where = source + " line " + std::to_string(index + 1);
    try {
      if (const std::string problem = utf8_problem(line); !problem.empty()) throw RowError{"the line " + problem};
      const std::vector<std::string_view> fields = split(line, '|');
      if (fields.size() != header.size())
        throw RowError{"has " + std::to_string(fields.size()) + " fields separated by |, the header has " +
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

      const std::optional<Decimal> gpus = gpus_of(tres);
      if (!gpus || *gpus == Decimal{}) {
        if (o.cpu_jobs == CpuJobs::skip) continue;
        throw RowError{"AllocTRES: job " + std::string(job_id) + " was allocated no GPUs (\"" + std::string(tres) + "\")"};
      }

      std::vector<Tags::Pair> pairs{{"job_id", std::string(job_id)}};
      if (!fields[experiment_col].empty()) pairs.emplace_back("experiment", std::string(fields[experiment_col]));
      for (const auto& [key, col] : column_tags)
        if (col && !fields[*col].empty()) pairs.emplace_back(key, std::string(fields[*col]));
      if (tags_col != no_column) {
        const std::string_view name = o.tags_from == TagsFrom::comment ? "Comment" : "WCKey";
        const Tags extra = o.tags_from == TagsFrom::comment ? comment_tags(fields[tags_col]) : wckey_tags(fields[tags_col]);
        for (const auto& tag : extra) {
          const auto& [key, value] = tag;
          // Captured through `tag`: clang before 16 cannot capture a structured binding.
          if (std::any_of(pairs.begin(), pairs.end(), [&](const Tags::Pair& p) { return p.first == tag.first; }))
            throw RowError{std::string(name) + ": tag \"" + key + "\" is already set from the job's own columns"};
          pairs.emplace_back(key, value);
        }
      }

      if (const auto it = seen.find(job_id); it != seen.end())
        throw RowError{"JobID: job " + std::string(job_id) + " is also on line " + std::to_string(it->second) +
                       " (sacct -D lists every requeued run under one JobID)"};
      seen.emplace(std::string(job_id), index + 1);

      Record r;
      r.id = std::string(job_id);
      r.tags = Tags(std::move(pairs));
      r.start = start;
      r.end = end;
      r.count = *gpus;
      r.sku = o.sku;
      r.tier = o.tier;
      r.origin = where;
      result.records.push_back(std::move(r));
    } catch (const RowError& e) {
      errors.skip(result, where, e.what);
    }
  }
  return result;
}

}  // namespace

void register_sacct(IngestRegistry& registry) { registry.add("sacct", parse_sacct); }

}  // namespace ingest
APPORTION_END_NAMESPACE
