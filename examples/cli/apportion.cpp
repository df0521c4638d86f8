// apportion: the command line over the library, as libgit2 ships lg2. Every command is a
// thin wrapper: the library does the work, this file parses arguments and prints.
//
// Exit status: 0 success, 2 bad input (one line on stderr, nothing on stdout), 1 an
// internal fault.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

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

constexpr const char* run_help = R"(usage: apportion run SPEC.json|- [--format json|table|csv] [--output FILE]

Runs an allocation spec (docs/spec.md) and prints the result. "-" reads the spec
from standard input.

options:
  --format json    the result document of the spec (default)
  --format table   an aligned table per step, with totals and shares
  --format csv     one row per line, a column per tag key
  --output FILE    write to FILE instead of standard output

limits (input past one is an error naming it; docs/errors.md):
)";

constexpr const char* catalog_help = R"(usage: apportion catalog show [--catalog FILE] [--format json|table]
       apportion catalog lookup SKU [--tier TIER] [--at TIME] [--catalog FILE]

show     prints every SKU of the catalog with its prices (JSON by default)
lookup   prints the rate of SKU's TIER (default on_demand) in force at TIME
         (RFC 3339, default: the tier's latest price)

Without --catalog, the built-in catalog of public list prices is used; list
prices go stale, so check the as_of date of each entry (docs/catalog.md).
)";

constexpr const char* ingest_help = R"(usage: apportion ingest FORMAT FILE|- [--OPTION VALUE ...]

Reads FILE in FORMAT and prints what it yields as spec JSON: {"records": [...]},
{"pools": [...]} or {"catalog": {...}}, decimals exact and unrounded, so it can be
inspected or pasted into a spec. Each --OPTION VALUE is the format's option of that name
(docs/ingest.md); lists are comma-separated ("--tags namespace,team"). An unreadable row
is an error naming the file and line; --skip_invalid true skips such rows and counts them.

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
// or is empty to take any option (ingest passes them on to the format).
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
      if (known.size() > 0 &&
          std::find_if(known.begin(), known.end(), [&](const char* k) { return name == k; }) == known.end())
        throw UsageError("unknown option --" + name + " (see --help)");
      a.options[name] = value;
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

int cmd_run(const std::vector<std::string>& argv) {
  std::vector<std::string> known_storage = {"format", "output"};
  for (const LimitInfo& l : limit_infos()) known_storage.emplace_back(l.option.substr(2));
  std::vector<const char*> known;
  for (const std::string& k : known_storage) known.push_back(k.c_str());
  const Args args = parse_args(argv, known);
  if (args.help) {
    std::cout << run_help << limits_help();
    return 0;
  }
  if (args.positional.size() != 1) throw UsageError("run takes one spec file, or - for standard input (see --help)");
  const std::string& path = args.positional[0];
  const std::string format = args.options.contains("format") ? args.options.at("format") : "json";
  if (format != "json" && format != "table" && format != "csv")
    throw UsageError("--format must be json, table or csv (got \"" + format + "\")");
  SpecOptions options;
  options.limits = read_limits(args);
  std::string text;
  MappedFile mapped;
  if (path == "-") {
    text = read_all(std::cin);
  } else {
    if (!mapped.open(path)) text = read_file(path);
    options.base_dir = std::filesystem::path(path).parent_path();
  }
  const Result result = run(allocation_from_json(mapped.data ? mapped.text() : std::string_view(text), options));
  if (format == "table") write_output(result_to_table(result), args);
  else if (format == "csv") write_output(result_to_csv(result), args);
  else write_output(result_to_json(result), args);
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
      for (const Sku& s : catalog.skus()) {
        std::cout << s.id << "  (" << to_string(s.unit) << ", " << to_string(s.billing);
        if (!s.as_of.empty()) std::cout << ", as of " << s.as_of;
        std::cout << ")\n";
        for (const Price& p : s.prices) {
          std::cout << "    " << p.tier << "  " << p.rate.to_string();
          if (p.from) std::cout << "  from " << p.from->to_string();
          std::cout << "\n";
        }
      }
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
  if (positional.size() != 2) throw UsageError("ingest takes a format and a file, or - for standard input (see --help)");
  const std::string& format = positional[0];
  const std::string& path = positional[1];
  if (!IngestRegistry::global().contains(format))
    throw UsageError("unknown format \"" + format + "\" (see apportion ingest --help)");
  std::ifstream file;  // read by the format as it goes (in blocks, for formats that stream)
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw UsageError(path + ": cannot read the file: " + std::strerror(errno));
  }
  std::istream& text = path == "-" ? std::cin : file;
  const Value options = Value::object(std::move(members));
  ObjectReader reader(options, "");
  const std::string source = path == "-" ? "stdin" : path;
  IngestResult result;
  try {
    result = IngestRegistry::global().parse_stream(format, text, reader, source);
    reader.finish();
  } catch (const SpecError& e) {
    // An option's error names the option as the command line spells it.
    if (options.find(e.path().substr(0, e.path().find_first_of(".["))))
      throw UsageError("--" + std::string(e.what()));
    // A required option left out: ObjectReader names it as a key.
    const std::string missing = e.path() + ": missing required key \"" + e.path() + "\"";
    if (e.what() == missing) throw UsageError("--" + e.path() + ": missing required option (see docs/ingest.md)");
    throw;
  }
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
    std::cout << (topic == "catalog" ? catalog_help : main_help);
    return 0;
  }
  if (command == "run") return cmd_run(rest);
  if (command == "catalog") return cmd_catalog(rest);
  if (command == "ingest") return cmd_ingest(rest);
  throw UsageError("unknown command \"" + command + "\" (see apportion --help)");
}

// One line for stderr, whatever the message held.
std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
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
  } catch (const std::exception& e) {
    std::cerr << "apportion: internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
}
