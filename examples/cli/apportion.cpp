// apportion: the command line over the library, as libgit2 ships lg2. Every command is a
// thin wrapper: the library does the work, this file parses arguments and prints.
//
// Exit status: 0 success, 2 bad input (one line on stderr, nothing on stdout), 1 an
// internal fault.

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <cstring>
#include <map>
#include <fstream>
#include <iostream>
#include <iterator>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "apportion/apportion.hpp"

#if defined(__unix__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace {

using namespace apportion;

constexpr const char* main_help = R"(apportion: exact attribution of GPU and AI infrastructure cost

usage: apportion <command> [options]

commands:
  run SPEC.json|-       run an allocation spec and print the result
  alerts SPEC.json|-    print the new budget and anomaly alerts of a spec
  report SPEC.json|-    write an HTML showback report of a spec
  catalog show          print a pricing catalog
  catalog lookup SKU    print the rate of a SKU tier at a moment
  ingest FORMAT FILE    print the records, pools or catalog a file yields
  help [COMMAND]        show help for a command

options:
  --version             print the version and exit
  -h, --help            show this help

The allocation spec is documented in docs/spec.md. Exit status: 0 on success,
2 on bad input (one line on standard error), 1 on an internal fault.
)";

// The options every command that runs a spec takes, after its own.
constexpr const char* spec_options_help = R"(input:
  --progress auto|always|never
                   show how far the reading of input files has got on standard
                   error: rows, MiB, rate, seconds (auto: when standard error is a
                   terminal and a file takes more than half a second)

limits (input past one is an error naming it; docs/errors.md):
)";

constexpr const char* run_help = R"(usage: apportion run SPEC.json|- [--format json|table|csv|focus|markdown|prometheus] [--output FILE]
                     [--log-to-mlflow STORE|URL]

Runs an allocation spec (docs/spec.md) and prints the result. "-" reads the spec
from standard input.

Warnings (a step no record took part in, an input's own) go to standard error, one
line each, and into the result. Options may be spelt with - or _ (--max_records).

options:
  --format json    the result document of the spec (default)
  --format table   an aligned table per step and statement, with totals and shares
  --format csv     one row per line (and statement row), a column per tag key
  --format focus   FOCUS 1.3 allocated charges (CSV): a row per line of each
                   step that splits a pool, with the bill's columns for a pool
                   read from a FOCUS bill (docs/output-formats.md)
  --format markdown  GitHub-flavoured markdown tables per step and statement, then
                   governance
  --format prometheus  Prometheus text exposition: gauges of the lines' costs by
                   kind, pools, coverage, unit costs, statements and budgets, for
                   node_exporter's textfile collector or a Pushgateway
  --output FILE    write to FILE instead of standard output

)";

constexpr const char* alerts_help = R"(usage: apportion alerts SPEC.json|- [--format text|json|slack] [--state FILE] [--output FILE]

Runs an allocation spec (docs/spec.md) and prints the alerts of its budgets and
anomalies that fired and were not fired before (docs/alerts.md). Nothing is sent
anywhere: post the slack payload yourself (curl to an incoming webhook).

options:
  --format text    one block per alert, for people (default)
  --format json    {"alerts": [...]}, for programs
  --format slack   a Slack Block Kit message payload ({"text", "blocks"})
  --state FILE     the keys of alerts fired before, {"fired": [keys]}; a missing file
                   holds none. Alerts with those keys do not fire again, and FILE is
                   rewritten (atomically) with the new keys added
  --output FILE    write to FILE instead of standard output

Exit status: 0 whether or not an alert fired (with none, text prints "no new
alerts" and json an empty list), 2 on bad input, a malformed state file included.

)";

constexpr const char* catalog_help = R"(usage: apportion catalog show [--catalog FILE] [--format json|table]
       apportion catalog lookup SKU [--tier TIER] [--at TIME] [--catalog FILE]

show     prints every SKU of the catalog with its prices (JSON by default)
lookup   prints the rate of SKU's TIER (default on_demand) in force at TIME
         (RFC 3339, default: the tier's latest price)

Without --catalog, the built-in catalog of public list prices is used; list
prices go stale, so check the as_of date of each entry (docs/catalog.md).
)";

constexpr const char* ingest_help = R"(usage: apportion ingest FORMAT FILE|FOLDER|- [--OPTION VALUE ...]
       apportion ingest FORMAT --url URL [--start T --end T] [--OPTION VALUE ...]

Reads FILE in FORMAT (a FOLDER for mlflow's file store, mlruns/; or, with --url, the
answer of a live Prometheus, OpenCost or MLflow tracking server: docs/ingest.md, "Live
sources") and prints what it yields as spec JSON: {"records": [...]},
{"pools": [...]} or {"catalog": {...}}, decimals exact and unrounded, so it can be
inspected or pasted into a spec. Each --OPTION VALUE is the format's option of that name
(docs/ingest.md), spelt with - or _ (--max-gap or --max_gap); lists are comma-separated
("--tags namespace,team"), seconds a number or a duration ("--max-gap 90s"). An
unreadable row is an error naming the file and line; --skip-invalid true skips such rows
and counts them. Warnings (a node asked for more GPU time than it has, ...) go to
standard error and into the output's "warnings".

formats: )";

// Bad input: the message is printed on one line and the exit status is 2.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

std::string read_all(std::istream& in) {
  std::ostringstream out;
  out << in.rdbuf();
  return std::move(out).str();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw UsageError(path + ": cannot read the file: " + std::strerror(errno));
  // A regular file is read in one piece; anything whose size is not known, as a stream.
  const std::streamoff size = in.tellg();
  if (size > 0 && in.seekg(0)) {
    std::string text(static_cast<std::size_t>(size), '\0');
    if (in.read(text.data(), size) && in.peek() == std::char_traits<char>::eof()) return text;
    in.clear();
    in.seekg(0);
  } else {
    in.clear();
  }
  return read_all(in);
}

// A regular file mapped into memory, read in place (no copy of a large spec); open() is
// false for anything else, or on any failure, and the caller reads the file as a stream.
struct MappedFile {
  void* data = nullptr;
  std::size_t size = 0;
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
#if defined(__unix__)
    if (data) ::munmap(data, size);
#endif
  }
  bool open([[maybe_unused]] const std::string& path) {
#if defined(__unix__)
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data = p;
        size = static_cast<std::size_t>(st.st_size);
        ::madvise(data, size, MADV_SEQUENTIAL);
      }
    }
    ::close(fd);
#endif
    return data != nullptr;
  }
  std::string_view text() const { return {static_cast<const char*>(data), size}; }
};

// Splits `--name value` options from positional arguments; `known` lists option names,
// or is empty to take any option (ingest passes them on to the format). Either spelling
// works, `--max-records` or `--max_records`: names are stored with dashes when `known`
// lists them, with underscores for a format's options (spelt so in specs).
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;
  bool help = false;
};

Args parse_args(const std::vector<std::string>& argv, const std::vector<const char*>& known) {
  Args a;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      std::string name = arg.substr(2), value;
      if (const auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argv.size()) {
        value = argv[++i];
      } else {
        throw UsageError("option --" + name + " needs a value");
      }
      std::replace(name.begin(), name.end(), known.empty() ? '-' : '_', known.empty() ? '_' : '-');
      if (!known.empty() &&
          std::find_if(known.begin(), known.end(), [&](const char* k) { return name == k; }) == known.end()) {
        const auto hint = closest_spelling(name, std::vector<std::string_view>(known.begin(), known.end()));
        throw UsageError("unknown option --" + name + (hint ? " (did you mean --" + std::string(*hint) + "?)" : " (see --help)"));
      }
      // Twice is a mistake (a script adding an option a user also gave), not the last one wins.
      if (!a.options.emplace(name, value).second)
        throw UsageError("option --" + name + " given twice (\"" + a.options.at(name) + "\" and \"" + value + "\")");
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

void write_output(const std::string& text, const Args& args) {
  if (const auto it = args.options.find("output"); it != args.options.end()) {
    std::ofstream out(it->second, std::ios::binary);
    if (!out) throw UsageError(it->second + ": cannot write the file: " + std::strerror(errno));
    out << text;
    return;
  }
  std::cout << text;
}

// The limits part of `apportion run --help`: each option, its meaning and its default.
std::string limits_help() {
  const Limits defaults;
  std::string out;
  for (const LimitInfo& l : limit_infos()) {
    std::string line = "  " + std::string(l.option) + " N";
    line.resize(std::max<std::size_t>(line.size() + 1, 28), ' ');
    out += line + std::string(l.what) + " (default " + with_separators(limit_value(defaults, l.name)) + ")\n";
  }
  return out;
}

// `--max-records N` and the other limit options of `apportion run`.
Limits read_limits(const Args& args) {
  Limits limits;
  for (const LimitInfo& l : limit_infos()) {
    const std::string option(l.option.substr(2));
    if (const auto it = args.options.find(option); it != args.options.end())
      set_limit(limits, l.name, it->second, "--" + option);
  }
  return limits;
}

// `names` and the limit options: what `run` and `alerts` accept.
Args parse_spec_args(const std::vector<std::string>& argv, std::vector<std::string> names) {
  for (const LimitInfo& l : limit_infos()) names.emplace_back(l.option.substr(2));
  names.emplace_back("progress");
  std::vector<const char*> known;
  for (const std::string& k : names) known.push_back(k.c_str());
  return parse_args(argv, known);
}

// Progress of the input files on standard error: "\r"-updated lines, one per file, shown
// once a file has taken half a second (or from the start with --progress always).
class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool eager) : eager_(eager) {}

  void operator()(const InputProgress& p) {
    using namespace std::chrono;
    const double seconds = duration<double>(p.elapsed).count();
    if (!shown_ && !eager_ && (p.done || seconds < 0.5)) return;
    shown_ = true;
    const double mib = static_cast<double>(p.bytes) / (1 << 20);
    // While reading, line breaks (a header line too); once read, the format's own rows.
    std::string line = p.rows ? fmt::format("\r  read {}: {} rows, {} records, {:.1f} MiB", p.path, with_separators(*p.rows),
                                            with_separators(p.records.value_or(0)), mib)
                              : fmt::format("\r  reading {}: {} lines, {:.1f} MiB", p.path, with_separators(p.lines), mib);
    if (p.total_bytes > 0)
      line += fmt::format(" of {:.1f} MiB ({:.0f}%)", static_cast<double>(p.total_bytes) / (1 << 20),
                          100.0 * static_cast<double>(p.bytes) / static_cast<double>(p.total_bytes));
    line += fmt::format(", {:.1f} MiB/s, {:.1f} s   ", seconds > 0 ? mib / seconds : 0.0, seconds);
    std::cerr << line << (p.done ? "\n" : "") << std::flush;
    if (p.done) shown_ = false;
  }

 private:
  bool eager_;
  bool shown_ = false;
};

// The allocation of the spec at `path` ("-": standard input), with the limit options;
// relative `inputs` paths are read from the spec file's folder.
Allocation read_allocation(const std::string& path, const Args& args) {
  SpecOptions options;
  options.limits = read_limits(args);
  const std::string progress = args.options.contains("progress") ? args.options.at("progress") : "auto";
  if (progress != "auto" && progress != "always" && progress != "never")
    throw UsageError("--progress must be auto, always or never (got \"" + progress + "\")");
  if (progress == "always" || (progress == "auto" && ::isatty(STDERR_FILENO)))
    options.progress = ProgressDisplay(progress == "always");
  std::string text;
  MappedFile mapped;
  if (path == "-") {
    text = read_all(std::cin);
  } else {
    if (!mapped.open(path)) text = read_file(path);
    options.base_dir = std::filesystem::path(path).parent_path();
  }
  return allocation_from_json(mapped.data ? mapped.text() : std::string_view(text), options);
}

// One line for stderr, whatever the message held.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

// What ran but looks wrong (a step no record took part in, more GPU time requested than a
// node has): one line each on standard error; the result carries them too.
const Result& warn(const Result& result) {
  for (const InputSummary& in : result.inputs)
    for (const std::string& w : in.warnings) std::cerr << "apportion: warning: " << one_line(w) << "\n";
  for (const std::string& w : result.warnings) std::cerr << "apportion: warning: " << one_line(w) << "\n";
  return result;
}

int cmd_run(const std::vector<std::string>& argv) {
  const Args args = parse_spec_args(argv, {"format", "output", "log-to-mlflow"});
  if (args.help) {
    std::cout << run_help << spec_options_help << limits_help();
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("run takes one spec file, or - for standard input (see --help)");
  const std::string& path = args.positional[0];
  const std::string format = args.options.contains("format") ? args.options.at("format") : "json";
  if (format != "json" && format != "table" && format != "csv" && format != "focus" && format != "markdown" &&
      format != "prometheus")
    throw UsageError("--format must be json, table, csv, focus, markdown or prometheus (got \"" + format + "\")");
  Allocation allocation = read_allocation(path, args);
  const Result result = run(allocation);
  warn(result);
  if (const auto target = args.options.find("log-to-mlflow"); target != args.options.end()) {
    MlflowLogOptions options;
    options.spec = path == "-" ? "stdin" : std::filesystem::path(path).filename().string();
    if (const char* token = std::getenv("MLFLOW_TRACKING_TOKEN"); token && *token) options.bearer_token = token;
    const MlflowLogReport report = log_to_mlflow(allocation, result, target->second, options);
    for (const std::string& w : report.warnings) std::cerr << "apportion: warning: mlflow: " << one_line(w) << "\n";
    std::size_t changed = 0, tags = 0;
    for (const MlflowLoggedRun& r : report.runs) {
      changed += !r.metrics_written.empty() || !r.tags_written.empty();
      tags += r.tags_written.size();
    }
    const std::size_t priced = report.runs.size() + report.not_logged;
    std::string line = "apportion: mlflow: " + std::to_string(priced) + (priced == 1 ? " run" : " runs") + " priced, ";
    const auto count = [](std::size_t n, const char* one, const char* many) { return std::to_string(n) + (n == 1 ? one : many); };
    if (changed > 0)
      line += count(report.points_written(), " metric point", " metric points") + " and " + count(tags, " tag", " tags") +
              " written to " + count(changed, " run", " runs") + " in " + report.target;
    else if (!report.runs.empty())
      line += "all up to date in " + report.target;
    else
      line += "nothing written to " + report.target;
    if (report.not_logged > 0) line += "; " + std::to_string(report.not_logged) + " not logged (see the warnings)";
    std::cerr << line << "\n";
  }
  allocation.records = {};  // the renderers read none; result_to_focus reads the steps and pools
  if (format == "table") write_output(result_to_table(result), args);
  else if (format == "csv") write_output(result_to_csv(result), args);
  else if (format == "focus") write_output(result_to_focus(result, allocation), args);
  else if (format == "markdown") write_output(result_to_markdown(result), args);
  else if (format == "prometheus") write_output(result_to_prometheus(result), args);
  else write_output(result_to_json(result), args);
  return 0;
}

// Writes `text` to `path` through a temporary file in the same folder and a rename, so a
// reader (or a check that fails half-way) never sees a partial file.
void write_atomically(const std::string& path, const std::string& text) {
#if defined(__unix__)
  const long id = static_cast<long>(::getpid());
#else
  const long id = 0;
#endif
  const std::string temp = path + ".tmp-" + std::to_string(id);
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw UsageError(temp + ": cannot write the file: " + std::strerror(errno));
    out << text;
    out.flush();
    if (!out) {
      std::remove(temp.c_str());
      throw UsageError(temp + ": cannot write the file: " + std::strerror(errno));
    }
  }
  std::error_code ec;
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::remove(temp.c_str());
    throw UsageError(path + ": cannot write the file: " + ec.message());
  }
}

int cmd_alerts(const std::vector<std::string>& argv) {
  const Args args = parse_spec_args(argv, {"format", "output", "state"});
  if (args.help) {
    std::cout << alerts_help << spec_options_help << limits_help();
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("alerts takes one spec file, or - for standard input (see --help)");
  AlertFormat format = AlertFormat::text;
  if (const auto f = args.options.find("format"); f != args.options.end()) {
    try {
      format = parse_alert_format(f->second);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--format ") + e.what());
    }
  }
  // The state is read before the spec runs: a malformed file fails before any work.
  std::vector<std::string> fired;
  const auto state = args.options.find("state");
  if (state != args.options.end()) {
    std::error_code ec;
    const auto status = std::filesystem::status(state->second, ec);
    if (status.type() != std::filesystem::file_type::not_found)
      fired = parse_alert_state(read_file(state->second), state->second);
  }
  Allocation allocation = read_allocation(args.positional[0], args);
  add_fired_keys(allocation, fired);
  const std::vector<AlertEvent> events = alert_events(warn(run(allocation)));
  write_output(render_alerts(events, format), args);
  if (state != args.options.end()) {
    for (const AlertEvent& e : events) fired.push_back(e.key);
    write_atomically(state->second, alert_state_to_json(std::move(fired)));
  }
  return 0;
}

constexpr const char* report_help = R"(usage: apportion report SPEC.json|- [--output FILE] [--title TEXT]

Runs an allocation spec (docs/spec.md) and writes a showback report: one
self-contained HTML file with a bar chart and a table of lines per step, the check
that each step's lines sum to its pool, tag coverage, unit costs and the
governance sections; a click sorts a table. Nothing is fetched: it opens offline
and can be mailed (docs/report.md).

options:
  --output FILE    write the report to FILE instead of standard output
  --title TEXT     the page title and heading (default "Cost showback")

)";

int cmd_report(const std::vector<std::string>& argv) {
  const Args args = parse_spec_args(argv, {"output", "title"});
  if (args.help) {
    std::cout << report_help << spec_options_help << limits_help();
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("report takes one spec file, or - for standard input (see --help)");
  ReportOptions options;
  if (const auto it = args.options.find("title"); it != args.options.end()) options.title = it->second;
  write_output(result_to_html(warn(run(read_allocation(args.positional[0], args))), options), args);
  return 0;
}

int cmd_catalog(const std::vector<std::string>& argv) {
  const Args args = parse_args(argv, {"catalog", "tier", "at", "format"});
  if (args.help) {
    std::cout << catalog_help;
    return 0;
  }
  if (args.positional.empty()) throw UsageError("catalog needs an action: show or lookup (see apportion catalog --help)");
  const Catalog loaded = args.options.contains("catalog") ? load_catalog(args.options.at("catalog")) : Catalog();
  const Catalog& catalog = args.options.contains("catalog") ? loaded : Catalog::builtin();
  const std::string& action = args.positional[0];
  if (action == "show") {
    if (args.positional.size() != 1) throw UsageError("catalog show takes no arguments");
    const std::string format = args.options.contains("format") ? args.options.at("format") : "json";
    if (format == "json") {
      std::cout << catalog_to_json(catalog);
    } else if (format == "table") {
      std::string text;
      for (const Sku& s : catalog.skus()) {
        fmt::format_to(std::back_inserter(text), "{}  ({}, {}{})\n", s.id, to_string(s.unit), to_string(s.billing),
                       s.as_of.empty() ? "" : ", as of " + s.as_of);
        for (const Price& p : s.prices)
          fmt::format_to(std::back_inserter(text), "    {}  {}{}\n", p.tier, p.rate.to_string(),
                         p.from ? "  from " + p.from->to_string() : "");
      }
      std::cout << text;
    } else {
      throw UsageError("--format must be json or table (got \"" + format + "\")");
    }
    return 0;
  }
  if (action == "lookup") {
    if (args.positional.size() != 2) throw UsageError("catalog lookup takes one SKU id");
    const std::string& sku = args.positional[1];
    const std::string tier = args.options.contains("tier") ? args.options.at("tier") : "on_demand";
    try {
      const Sku& s = catalog.sku(sku);
      const Decimal rate = args.options.contains("at") ? catalog.rate_at(sku, tier, Instant::parse(args.options.at("at")))
                                                       : catalog.latest_rate(sku, tier);
      std::cout << rate.to_string() << " per " << to_string(s.unit) << "\n";
    } catch (const std::invalid_argument& e) {
      throw UsageError(e.what());
    }
    return 0;
  }
  throw UsageError("unknown catalog action \"" + action + "\" (show or lookup)");
}

int cmd_ingest(const std::vector<std::string>& argv) {
  const Args args = parse_args(argv, {});
  if (args.help) {
    std::string formats;
    for (const std::string& f : IngestRegistry::global().formats()) formats += (formats.empty() ? "" : ", ") + f;
    std::cout << ingest_help << formats << "\n";
    return 0;
  }
  std::vector<Value::Member> members;
  for (const auto& [name, value] : args.options) {
    if (name == "format" || name == "path") throw UsageError("--" + name + " is given as an argument, not an option");
    members.emplace_back(name, Value::string(value));
  }
  const std::vector<std::string>& positional = args.positional;
  const bool live = args.options.contains("url");  // read from a server (docs/ingest.md, "Live sources")
  if (live && positional.size() != 1) throw UsageError("ingest FORMAT --url URL takes no file");
  if (!live && positional.size() != 2)
    throw UsageError("ingest takes a format and a file, or - for standard input, or --url (see --help)");
  const std::string& format = positional[0];
  const std::string path = live ? "" : positional[1];
  if (!IngestRegistry::global().contains(format))
    throw UsageError("unknown format \"" + format + "\" (see apportion ingest --help)");
  std::ifstream file;  // read by the format as it goes (in blocks, for formats that stream)
  std::error_code folder_error;
  const bool folder = !live && path != "-" && std::filesystem::is_directory(path, folder_error);  // an MLflow file store
  if (!live && !folder && path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw UsageError(path + ": cannot read the file: " + std::strerror(errno));
  }
  std::istream& text = path == "-" ? std::cin : file;
  const Value options = Value::object(std::move(members));
  ObjectReader reader(options, "");
  const std::string source = path == "-" ? "stdin" : path;
  IngestResult result;
  try {
    result = live     ? IngestRegistry::global().parse_live(format, reader, LiveContext{})
             : folder ? IngestRegistry::global().parse_folder(format, path, reader, source)
                      : IngestRegistry::global().parse_stream(format, text, reader, source);
    reader.finish();
  } catch (const SpecError& e) {
    // An option's error names the option as the command line spells it.
    if (options.find(e.path().substr(0, e.path().find_first_of(".[")))) {
      // The hint names the option as the command line spells it too.
      std::string message = "--" + std::string(e.what());
      if (const auto at = message.find("(did you mean \""); at != std::string::npos) {
        message.replace(at, 15, "(did you mean --");
        message.erase(message.find('"', at), 1);
      }
      throw UsageError(message);
    }
    // A required option left out: ObjectReader names it as a key.
    const std::string missing = e.path() + ": missing required key \"" + e.path() + "\"";
    if (const std::string_view what = e.what(); what.starts_with(missing)) {
      std::string given(what.substr(missing.size()));  // ` ("skus" is given: a misspelling?)`
      if (const auto quote = given.find('"'); quote != std::string::npos) {
        given.replace(quote, 1, "--");
        given.erase(given.find('"', quote), 1);
      }
      throw UsageError("--" + e.path() + ": missing required option" + (given.empty() ? " (see docs/ingest.md)" : given));
    }
    throw;
  }
  for (const std::string& w : result.warnings) std::cerr << "apportion: warning: " << one_line(w) << "\n";
  std::cout << ingest_result_to_json(result);
  return 0;
}

int dispatch(const std::vector<std::string>& argv) {
  if (argv.empty()) throw UsageError("no command given (see apportion --help)");
  const std::string& command = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (command == "--version" || command == "version") {
    std::cout << "apportion " << APPORTION_VERSION_STRING << "\n";
    return 0;
  }
  if (command == "-h" || command == "--help") {
    std::cout << main_help;
    return 0;
  }
  if (command == "help") {
    const std::string topic = rest.empty() ? "" : rest[0];
    if (topic == "ingest") return cmd_ingest({"--help"});
    if (topic == "run") return cmd_run({"--help"});
    if (topic == "alerts") return cmd_alerts({"--help"});
    if (topic == "report") return cmd_report({"--help"});
    std::cout << (topic == "catalog" ? catalog_help : main_help);
    return 0;
  }
  if (command == "run") return cmd_run(rest);
  if (command == "alerts") return cmd_alerts(rest);
  if (command == "report") return cmd_report(rest);
  if (command == "catalog") return cmd_catalog(rest);
  if (command == "ingest") return cmd_ingest(rest);
  throw UsageError("unknown command \"" + command + "\" (see apportion --help)");
}


}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::invalid_argument& e) {  // SpecError, ParseError, UsageError, ...
    // The message alone: it starts with the JSON path, as the spec promises.
    std::cerr << one_line(e.what()) << "\n";
    return 2;
  } catch (const OverflowError& e) {
    std::cerr << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    // The limits should have stopped the input first; say which ones bound memory.
    std::cerr << "out of memory: the input needs more than this machine has; lower --max-records (or the other "
                 "limits, docs/errors.md) to be stopped before memory runs out, or read a csv input with "
                 "\"aggregate\": true\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "apportion: internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
}
