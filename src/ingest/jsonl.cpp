// The jsonl ingest format: structured event logs, one JSON object per line (an inference
// service's per-request cost events, a gateway's access log), fields mapped to tags,
// measures and times by name or dotted path. Read a line at a time; decimals exact from
// the JSON text (docs/ingest.md, "jsonl").

#include <algorithm>
#include <istream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "apportion/json.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

namespace {

// A record field and the path in each line it is read from: "business_unit" from
// "request.business_unit".
struct Field {
  std::string key, path;
};

struct JsonlOptions {
  std::vector<Field> tags, measures;
  std::optional<std::string> at, start, end, id, pool;
  Decimal seconds_per_unit = Decimal::parse("1");  // a number as a time: Unix seconds, or ms, us, ns
};

// A list of paths, each its own key (["model", "request.business_unit"], or
// "model,request.business_unit") or renamed ("business_unit=request.business_unit", as the
// command line gives it), or an object of key -> path ({"business_unit":
// "request.business_unit"}).
std::vector<Field> read_fields(const Value& v, const std::string& path) {
  std::vector<Field> out;
  if (v.is(Value::Type::object)) {
    for (const auto& [key, p] : v.members()) {
      if (key.empty()) throw SpecError(path, "a key must not be empty");
      out.push_back({key, read_string(p, path_join(path, key))});
    }
  } else {
    for (std::string& p : read_names(v, path)) {
      const std::size_t eq = p.find('=');
      if (eq == std::string::npos) out.push_back({p, p});
      else if (eq == 0) throw SpecError(path, "a key must not be empty (got \"" + p + "\")");
      else out.push_back({p.substr(0, eq), p.substr(eq + 1)});
    }
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].path.empty()) throw SpecError(path, "a field path must not be empty");
    for (std::size_t j = 0; j < i; ++j)
      if (out[i].key == out[j].key) throw SpecError(path, "\"" + out[i].key + "\" is named twice");
  }
  return out;
}

JsonlOptions read_jsonl_options(ObjectReader& options) {
  JsonlOptions o;
  if (const Value* v = options.optional("tags")) o.tags = read_fields(*v, options.path("tags"));
  if (const Value* v = options.optional("measures")) o.measures = read_fields(*v, options.path("measures"));
  for (const char* name : {"at", "start", "end", "id", "pool"}) {
    const Value* v = options.optional(name);
    if (!v) continue;
    std::string text = read_string(*v, options.path(name));
    if (text.empty()) throw SpecError(options.path(name), "must not be empty");
    std::optional<std::string>& slot = std::string_view(name) == "at"      ? o.at
                                       : std::string_view(name) == "start" ? o.start
                                       : std::string_view(name) == "end"   ? o.end
                                       : std::string_view(name) == "id"    ? o.id
                                                                           : o.pool;
    slot = std::move(text);
  }
  if (const Value* v = options.optional("time_unit")) {
    const std::string unit = read_string(*v, options.path("time_unit"));
    if (unit == "s") o.seconds_per_unit = Decimal::parse("1");
    else if (unit == "ms") o.seconds_per_unit = Decimal::parse("0.001");
    else if (unit == "us") o.seconds_per_unit = Decimal::parse("0.000001");
    else if (unit == "ns") o.seconds_per_unit = Decimal::parse("0.000000001");
    else throw SpecError(options.path("time_unit"), "must be \"s\", \"ms\", \"us\" or \"ns\" (got \"" + unit + "\")");
  }
  options.finish();  // a misspelt option is reported before any line is read
  if (o.measures.empty()) throw SpecError(options.path("measures"), "is required: the fields to read as measures");
  if (o.start.has_value() != o.end.has_value())
    throw SpecError(options.path(o.start ? "end" : "start"), "is needed with " + std::string(o.start ? "start" : "end"));
  if (o.at && o.start) throw SpecError(options.path("at"), "an instant, or an interval with start and end: give one, not both");
  return o;
}

// The value at a dotted path, or nullptr when a part is missing (or null). A key that
// itself holds dots ("http.status") is found whole before the path is split.
const Value* at_path(const Value& object, std::string_view path) {
  if (!object.is(Value::Type::object)) return nullptr;
  if (const Value* whole = object.find(path)) return whole->is(Value::Type::null) ? nullptr : whole;
  // "a.b.c": key "a" then "b.c", or key "a.b" (a key with a dot) then "c".
  for (std::size_t dot = path.find('.'); dot != std::string_view::npos; dot = path.find('.', dot + 1))
    if (const Value* part = object.find(path.substr(0, dot)))
      if (const Value* found = at_path(*part, path.substr(dot + 1))) return found;
  return nullptr;
}

// A time: RFC 3339 text, or a number of Unix seconds (or of `time_unit`), exact to the
// nanosecond.
Instant read_time(const Value& v, const std::string& path, const Decimal& seconds_per_unit) {
  if (!v.is(Value::Type::number) && !v.is(Value::Type::string))
    throw SpecError(path, "must be RFC 3339 text or a number of seconds since 1970 (or of time_unit), got " +
                              std::string(type_name(v.type())));
  // A string is RFC 3339, or a number written as a string ("1762156800"), as loggers do.
  const bool number = v.is(Value::Type::number) || v.text().find_first_not_of("0123456789.-+eE") == std::string::npos;
  if (!number) return read_instant(v, path);
  const Decimal seconds = read_decimal(v, path) * seconds_per_unit;
  const Decimal ns = seconds * Decimal::parse("1000000000");
  if (ns.round(Decimal::parse("1")) != ns) throw SpecError(path, "is finer than a nanosecond (got " + v.text() + ")");
  constexpr int128 limit = std::numeric_limits<std::int64_t>::max();
  const int128 count = ns.raw() / Decimal::one_raw;
  if (count > limit || count < -limit) throw SpecError(path, "is outside the years 1678 to 2261 (got " + v.text() + ")");
  return Instant::from_unix_nanos(static_cast<std::int64_t>(count));
}

// A tag value: a string as it is, a number or a boolean as its JSON text.
std::string tag_text(const Value& v, const std::string& path) {
  if (v.is(Value::Type::string) || v.is(Value::Type::number)) return v.text();
  if (v.is(Value::Type::boolean)) return v.text();
  throw SpecError(path, "must be a string, a number or a boolean to be a tag (got " + std::string(type_name(v.type())) + ")");
}

// Reads lines one at a time into records; finish() adds what was missing where.
class JsonlReader {
 public:
  JsonlReader(const JsonlOptions& o, const RowErrors& rows, const std::string& source) : o_(o), rows_(rows), source_(source) {
    for (const auto& fields : {&o.tags, &o.measures})
      for (const Field& f : *fields) missing_.emplace(f.path, 0);
  }

  void line(std::string_view text) {
    ++line_no_;
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.find_first_not_of(" \t") == std::string_view::npos) return;  // a blank line
    ++result_.rows;
    const std::string where = source_ + " line " + std::to_string(line_no_);
    rows_.row(result_, where, [&] {
      Value doc;
      try {
        doc = parse_json(text);
      } catch (const SpecError& e) {
        // A syntax error is at "line 1, column N" of the line's own text: its column is
        // what says where. Other errors (a number out of range, a key twice) name the key.
        const std::string what = e.what();
        constexpr std::string_view first_line = "line 1, ";
        if (what.starts_with(first_line)) throw ParseError("not JSON: " + what.substr(first_line.size()));
        throw ParseError(what);
      }
      if (!doc.is(Value::Type::object))
        throw ParseError("not a JSON object (got " + std::string(type_name(doc.type())) + ")");
      Record r;
      r.origin = where;
      r.pool = o_.pool;
      std::vector<Tags::Pair> tags;
      std::vector<const std::string*> missing;  // counted once the line has made its record
      for (const Field& f : o_.tags) {
        if (const Value* v = at_path(doc, f.path)) tags.emplace_back(f.key, tag_text(*v, f.path));
        else missing.push_back(&f.path);
      }
      r.tags = Tags(std::move(tags));
      for (const Field& f : o_.measures) {
        if (const Value* v = at_path(doc, f.path)) r.measures[f.key] = read_non_negative(*v, f.path);
        else missing.push_back(&f.path);
      }
      const auto time = [&](const std::optional<std::string>& path, const char* option) -> std::optional<Instant> {
        if (!path) return std::nullopt;
        const Value* v = at_path(doc, *path);
        if (!v) throw ParseError(*path + ": missing (the " + option + " field)");
        return read_time(*v, *path, o_.seconds_per_unit);
      };
      r.at = time(o_.at, "at");
      r.start = time(o_.start, "start");
      r.end = time(o_.end, "end");
      if (r.start && *r.end < *r.start)
        throw ParseError(*o_.end + ": is before " + *o_.start + " (" + r.end->to_string() + " < " + r.start->to_string() + ")");
      if (o_.id) {
        const Value* v = at_path(doc, *o_.id);
        if (!v) throw ParseError(*o_.id + ": missing (the id field)");
        r.id = tag_text(*v, *o_.id);
      }
      result_.records.push_back(std::move(r));
      for (const std::string* path : missing) ++missing_[*path];
    });
  }

  IngestResult finish() {
    if (result_.rows == 0 && line_no_ > 0) result_.warnings.push_back(source_ + ": no lines, only blank ones");
    for (const auto& [path, count] : missing_)
      if (count > 0)
        result_.warnings.push_back(source_ + ": " + std::to_string(count) + " of " + std::to_string(result_.rows) + " lines " +
                                   (count == 1 ? "has" : "have") + " no " + path + "; their records go without it");
    return std::move(result_);
  }

 private:
  const JsonlOptions& o_;
  const RowErrors& rows_;
  const std::string& source_;
  IngestResult result_;
  std::size_t line_no_ = 0;
  std::map<std::string, std::size_t> missing_;  // field path -> lines without it
};

IngestResult parse_jsonl(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const JsonlOptions o = read_jsonl_options(options);
  JsonlReader reader(o, rows, source);
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t nl = std::min(text.find('\n', start), text.size());
    reader.line(text.substr(start, nl - start));
    start = nl + 1;
  }
  return reader.finish();
}

// A file or a live answer read a line at a time: only one line is held.
IngestResult parse_jsonl_stream(std::istream& in, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const JsonlOptions o = read_jsonl_options(options);
  JsonlReader reader(o, rows, source);
  for (std::string line; std::getline(in, line);) reader.line(line);
  return reader.finish();
}

}  // namespace

void register_jsonl(IngestRegistry& registry) {
  registry.add("jsonl", parse_jsonl);
  registry.add_stream("jsonl", parse_jsonl_stream);
}

}  // namespace ingest
APPORTION_END_NAMESPACE
