// Reading an MLflow file store (mlflow_store.hpp).

#include "mlflow_store.hpp"

#include "ingest/csv_reader.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <system_error>

APPORTION_BEGIN_NAMESPACE
namespace mlflow {

std::string first_few(const std::vector<std::string>& names) {
  std::string text;
  const std::size_t shown = std::min<std::size_t>(names.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > shown) text += ", ...";
  return text;
}

std::optional<std::string> status_name(std::int64_t number) {
  switch (number) {
    case 1: return "RUNNING";
    case 2: return "SCHEDULED";
    case 3: return "FINISHED";
    case 4: return "FAILED";
    case 5: return "KILLED";
    default: return std::nullopt;
  }
}

std::optional<std::int64_t> whole_number(std::string_view text) {
  std::int64_t n = 0;
  const char* end = text.data() + text.size();
  const auto [at, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || at != end || text.empty()) return std::nullopt;
  return n;
}

std::optional<std::string> read_small_file(const std::filesystem::path& file, const std::string& where) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) return std::nullopt;
  // MLflow keeps a param or tag to 6,000 or 8,000 characters; a metric's history can be
  // long, but not this long.
  constexpr std::uintmax_t most = 256u << 20;
  if (const std::uintmax_t size = std::filesystem::file_size(file, ec); !ec && size > most)
    throw SpecError(where, "is larger than 256 MiB, more than an MLflow file holds");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SpecError(where, "cannot read the file");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

void put_utf8(std::string& out, std::uint32_t c, const std::string& where) {
  if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
    throw SpecError(where, "an escape names no Unicode character (a surrogate, or beyond U+10FFFF)");
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool ends_in_escape(std::string_view line) {
  std::size_t n = 0;
  while (n < line.size() && line[line.size() - 1 - n] == '\\') ++n;
  return n % 2 == 1;
}

// The lines of a value (its first and those indented under it, each trimmed; blank ones
// empty) folded as YAML folds a flow scalar: a line break is a space, each blank line
// between two lines a newline, and in double quotes a line ending in an escaping backslash
// joins the next with nothing.
std::string fold(std::vector<std::string> lines, bool double_quoted) {
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  std::size_t blank = 0;
  bool first = true, tight = false;
  for (const std::string& line : lines) {
    if (line.empty()) {
      blank += first ? 0 : 1;
      continue;
    }
    if (!first && !tight) {
      if (blank > 0) out.append(blank, '\n');
      else out += ' ';
    }
    std::string_view text = line;
    tight = double_quoted && ends_in_escape(text);
    if (tight) text.remove_suffix(1);
    out += text;
    first = false;
    blank = 0;
  }
  return out;
}

// Whether a value's lines so far open a quoted scalar they do not close: more lines follow.
bool quote_open(const std::vector<std::string>& lines) {
  if (lines.empty() || lines.front().empty()) return false;
  const char quote = lines.front().front();
  if (quote == '\'') {  // closed when its quotes are even: the opening, '' pairs, the closing
    std::size_t n = 0;
    for (const std::string& l : lines) n += static_cast<std::size_t>(std::count(l.begin(), l.end(), '\''));
    return n % 2 == 1;
  }
  if (quote != '"') return false;
  const std::string& last = lines.size() == 1 ? lines.front() : lines.back();
  if (lines.size() == 1 && last.size() == 1) return true;
  return last.empty() || last.back() != '"' || ends_in_escape(std::string_view(last).substr(0, last.size() - 1));
}

// A scalar: quotes removed and escapes read. Returns none for null.
std::optional<std::string> scalar(const std::string& raw, const std::string& where) {
  const std::string_view text = trim(raw);
  if (text.empty() || text == "null" || text == "~" || text == "Null" || text == "NULL") return std::nullopt;
  if (text.front() == '\'') {
    if (text.size() < 2 || text.back() != '\'') throw SpecError(where, "a quoted value is not closed");
    std::string out;
    for (std::size_t i = 1; i + 1 < text.size(); ++i) {
      out += text[i];
      if (text[i] == '\'') ++i;  // '' is one quote
    }
    return out;
  }
  if (text.front() == '"') {
    if (text.size() < 2 || text.back() != '"') throw SpecError(where, "a quoted value is not closed");
    std::string out;
    for (std::size_t i = 1; i + 1 < text.size(); ++i) {
      if (text[i] != '\\') {
        out += text[i];
        continue;
      }
      if (++i + 1 >= text.size()) throw SpecError(where, "a value ends in a lone backslash");
      const char e = text[i];
      const auto hex = [&](std::size_t digits) {
        if (i + digits >= text.size()) throw SpecError(where, "a \\x, \\u or \\U escape is cut short");
        std::uint32_t c = 0;
        const auto [p, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 1 + digits, c, 16);
        if (ec != std::errc() || p != text.data() + i + 1 + digits) throw SpecError(where, "a bad \\x, \\u or \\U escape");
        i += digits;
        put_utf8(out, c, where);
      };
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case '\t': out += '\t'; break;
        case 'r': out += '\r'; break;
        case '0': out += '\0'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'e': out += '\x1b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'N': put_utf8(out, 0x85, where); break;    // next line
        case '_': put_utf8(out, 0xA0, where); break;    // no-break space
        case 'L': put_utf8(out, 0x2028, where); break;  // line separator
        case 'P': put_utf8(out, 0x2029, where); break;  // paragraph separator
        case ' ': out += ' '; break;
        case '/': out += '/'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case 'x': hex(2); break;
        case 'u': hex(4); break;
        case 'U': hex(8); break;
        default: throw SpecError(where, std::string("unknown escape \\") + e);
      }
    }
    return out;
  }
  return std::string(text);
}

}  // namespace

std::map<std::string, YamlValue> read_meta_yaml(const std::filesystem::path& file, const std::string& where) {
  const std::optional<std::string> text = read_small_file(file, where);
  if (!text) throw SpecError(where, "missing (a run or experiment folder holds a meta.yaml)");
  return parse_meta_yaml(*text, where);
}

// YAML 1.1's other line breaks, read as PyYAML (and so MLflow) reads them: NEL is a line
// break like LF, folded with the rest; LS and PS are kept, the indentation after them not.
static std::string normalize_breaks(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\xC2\x85") == 0) {
      out += '\n';
      ++i;
      continue;
    }
    out += text[i];
    if (text.compare(i, 3, "\xE2\x80\xA8") == 0 || text.compare(i, 3, "\xE2\x80\xA9") == 0) {
      out.append(text.substr(i + 1, 2));
      i += 2;
      while (i + 1 < text.size() && (text[i + 1] == ' ' || text[i + 1] == '\t')) ++i;
    }
  }
  return out;
}

std::map<std::string, YamlValue> parse_meta_yaml(std::string_view given, const std::string& where) {
  if (const std::string problem = ingest::utf8_problem(given); !problem.empty()) throw SpecError(where, "the file " + problem);
  const std::string normalized = normalize_breaks(given);
  const std::string_view text = normalized;
  std::map<std::string, YamlValue> out;
  std::string key;
  std::vector<std::string> lines;  // the current key's value, a line each
  std::size_t key_line = 0;
  const auto flush = [&] {
    if (key.empty()) return;
    const std::string at = where + " line " + std::to_string(key_line);
    const bool double_quoted = !lines.empty() && !lines.front().empty() && lines.front().front() == '"';
    if (!out.emplace(key, YamlValue{scalar(fold(lines, double_quoted), at), key_line}).second)
      throw SpecError(at, "\"" + key + "\" given twice");
    key.clear();
    lines.clear();
  };
  std::size_t line_no = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t nl = std::min(text.find('\n', start), text.size());
    const std::string_view line(text.data() + start, nl - start);
    start = nl + 1;
    ++line_no;
    const std::string_view body = trim(line);
    const bool indented = !line.empty() && (line.front() == ' ' || line.front() == '\t');
    // Inside quotes every line is the value's, a blank one a newline; elsewhere a blank line,
    // a comment and a document start are nothing.
    if (!key.empty() && quote_open(lines) && (indented || body.empty())) {
      lines.emplace_back(body);
      continue;
    }
    if (body.empty() || (!indented && (body.front() == '#' || body == "---"))) continue;
    if (indented) {  // a long value folded onto more lines
      if (key.empty()) throw SpecError(where + " line " + std::to_string(line_no), "an indented line belongs to no key");
      if (body.starts_with("- ") || body == "-")
        throw SpecError(where + " line " + std::to_string(key_line), "\"" + key + "\" holds a list, where a value was expected");
      if (lines.empty() && body.find(": ") != std::string_view::npos)
        throw SpecError(where + " line " + std::to_string(key_line), "\"" + key + "\" holds a mapping, where a value was expected");
      lines.emplace_back(body);
      continue;
    }
    flush();
    const std::size_t colon = line.find(": ");
    const bool bare = colon == std::string_view::npos && body.back() == ':';
    if (colon == std::string_view::npos && !bare)
      throw SpecError(where + " line " + std::to_string(line_no), "not \"key: value\" (got \"" + std::string(body) + "\")");
    key = std::string(trim(line.substr(0, bare ? body.size() - 1 : colon)));
    const std::string_view first = bare ? std::string_view() : trim(line.substr(colon + 2));
    key_line = line_no;
    if (first == "[]" || first == "{}") continue;  // `tags: []`, kept for old MLflow versions
    if (!first.empty()) lines.emplace_back(first);
  }
  flush();
  return out;
}

std::vector<MetricPoint> parse_metric_lines(std::string_view text, const std::string& where) {
  std::vector<MetricPoint> points;
  std::size_t line_no = 0;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t nl = std::min(text.find('\n', start), text.size());
    const std::string_view line = trim(std::string_view(text.data() + start, nl - start));
    start = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    std::vector<std::string_view> parts;
    for (std::size_t at = 0; at <= line.size();) {
      const std::size_t space = std::min(line.find(' ', at), line.size());
      parts.push_back(line.substr(at, space - at));
      at = space + 1;
    }
    const auto bad = [&] {
      return SpecError(where + " line " + std::to_string(line_no),
                       "not \"<timestamp> <value> <step>\" as MLflow writes a metric (got \"" + std::string(line) + "\")");
    };
    if (parts.size() != 2 && parts.size() != 3) throw bad();
    MetricPoint p;
    const auto timestamp = whole_number(parts[0]);
    const auto step = parts.size() == 3 ? whole_number(parts[2]) : std::optional<std::int64_t>(0);
    if (!timestamp || !step || parts[1].empty()) throw bad();
    p.timestamp = *timestamp;
    p.value = std::string(parts[1]);
    p.step = *step;
    points.push_back(std::move(p));
  }
  return points;
}

std::vector<MetricPoint> read_metric_file(const std::filesystem::path& file, const std::string& where) {
  const std::optional<std::string> text = read_small_file(file, where);
  return text ? parse_metric_lines(*text, where) : std::vector<MetricPoint>{};
}

const MetricPoint* latest_point(const std::vector<MetricPoint>& points) {
  const MetricPoint* best = nullptr;
  for (const MetricPoint& p : points) {
    if (!best || p.step > best->step || (p.step == best->step && p.timestamp > best->timestamp) ||
        (p.step == best->step && p.timestamp == best->timestamp && std::strtod(p.value.c_str(), nullptr) >
                                                                      std::strtod(best->value.c_str(), nullptr)))
      best = &p;
  }
  return best;
}

std::vector<std::filesystem::path> experiment_folders(const std::filesystem::path& store) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(store)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name == ".trash" || name == "models" || name.starts_with(".")) continue;
    if (!std::filesystem::is_regular_file(entry.path() / "meta.yaml")) continue;
    out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::filesystem::path> run_folders(const std::filesystem::path& experiment) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(experiment)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name == "tags" || name == "datasets" || name == "traces") continue;
    if (!std::filesystem::is_regular_file(entry.path() / "meta.yaml")) continue;
    out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::filesystem::path> folders_without_meta(const std::filesystem::path& folder, bool store) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || name.starts_with(".")) continue;
    if (store ? name == "models" : name == "tags" || name == "datasets" || name == "traces") continue;
    if (!std::filesystem::exists(entry.path() / "meta.yaml")) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void check_store(const std::filesystem::path& store, const std::string& shown) {
  std::error_code ec;
  if (!std::filesystem::is_directory(store, ec))
    throw SpecError(shown, "is not a folder: give an MLflow file store's folder (mlruns/), a file:// URI of it, or a tracking "
                           "server's http(s):// address");
  if (std::filesystem::is_regular_file(store / "meta.yaml", ec)) {
    const bool run = std::filesystem::is_directory(store / "metrics", ec) || std::filesystem::is_directory(store / "params", ec);
    throw SpecError(shown, std::string("is ") + (run ? "a run's folder" : "an experiment's folder") +
                               " (it holds a meta.yaml): give the store, the folder " + (run ? "two levels" : "one level") +
                               " up (mlruns/)");
  }
  if (experiment_folders(store).empty())
    throw SpecError(shown, "holds no experiment (a folder with a meta.yaml): is it an MLflow file store such as mlruns/?");
}

std::map<std::string, std::filesystem::path> run_index(const std::filesystem::path& store) {
  std::map<std::string, std::filesystem::path> out;
  for (const std::filesystem::path& experiment : experiment_folders(store))
    for (std::filesystem::path& run : run_folders(experiment)) out.emplace(run.filename().string(), std::move(run));
  return out;
}

}  // namespace mlflow
APPORTION_END_NAMESPACE
