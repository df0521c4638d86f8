#include "prometheus.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include <nlohmann/json.hpp>

#include "apportion/json.hpp"
#include "apportion/value.hpp"
#include "csv_reader.hpp"

APPORTION_BEGIN_NAMESPACE
namespace prometheus {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }
bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }
bool label_start(char c) { return c != ':' && name_start(c); }
bool label_char(char c) { return c != ':' && name_char(c); }

void skip_spaces(std::string_view s, std::size_t& i) {
  while (i < s.size() && is_space(s[i])) ++i;
}

std::string_view token(std::string_view s, std::size_t& i) {
  skip_spaces(s, i);
  const std::size_t start = i;
  while (i < s.size() && !is_space(s[i])) ++i;
  return s.substr(start, i - start);
}

bool valid_metric_name(std::string_view n) {
  if (n.empty() || !name_start(n[0])) return false;
  for (char c : n)
    if (!name_char(c)) return false;
  return true;
}

std::optional<MetricType> type_from(std::string_view t) {
  if (t == "counter") return MetricType::counter;
  if (t == "gauge") return MetricType::gauge;
  if (t == "histogram") return MetricType::histogram;
  if (t == "gaugehistogram") return MetricType::gaugehistogram;
  if (t == "summary") return MetricType::summary;
  if (t == "untyped" || t == "unknown") return MetricType::untyped;
  if (t == "info") return MetricType::info;
  if (t == "stateset") return MetricType::stateset;
  return std::nullopt;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The text between quotes at s[i] == '"', unescaped; i ends after the closing quote.
std::string quoted(std::string_view s, std::size_t& i) {
  ++i;
  std::string out;
  while (true) {
    if (i >= s.size()) throw ParseError("label value has no closing quote");
    const char c = s[i++];
    if (c == '"') return out;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i >= s.size()) throw ParseError("label value has no closing quote");
    const char e = s[i++];
    if (e == '\\' || e == '"') out += e;
    else if (e == 'n') out += '\n';
    else throw ParseError(std::string("invalid escape \\") + e + " in a label value");
  }
}

// Instant from a count of `unit_nanos` nanoseconds, refusing overflow.
Instant instant_from(std::int64_t count, std::int64_t unit_nanos) {
  std::int64_t ns;
  if (__builtin_mul_overflow(count, unit_nanos, &ns)) throw ParseError("timestamp out of range");
  return Instant::from_unix_nanos(ns);
}

std::int64_t parse_int64(std::string_view t) {
  std::size_t i = 0;
  bool negative = false;
  if (i < t.size() && (t[i] == '-' || t[i] == '+')) negative = t[i++] == '-';
  if (i == t.size()) throw ParseError("bad timestamp \"" + std::string(t) + "\"");
  std::int64_t v = 0;
  for (; i < t.size(); ++i) {
    if (t[i] < '0' || t[i] > '9') throw ParseError("bad timestamp \"" + std::string(t) + "\"");
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, negative ? -(t[i] - '0') : (t[i] - '0'), &v))
      throw ParseError("timestamp out of range");
  }
  return v;
}

struct Builder {
  Exposition exposition;
  std::map<std::string, std::size_t, std::less<>> family_index;
  std::map<std::pair<std::string, Tags>, std::size_t> series_lines;  // text: duplicate check

  Family& family(const std::string& name) {
    const auto it = family_index.find(name);
    if (it != family_index.end()) return exposition.families[it->second];
    family_index.emplace(name, exposition.families.size());
    exposition.families.push_back(Family{name, MetricType::untyped, {}, {}});
    return exposition.families.back();
  }
  Family* find(std::string_view name) {
    const auto it = family_index.find(name);
    return it == family_index.end() ? nullptr : &exposition.families[it->second];
  }
};

// The family a text sample named `name` belongs to: see parse_text.
std::string family_of(Builder& b, const std::string& name, const std::map<std::string, MetricType, std::less<>>& typed) {
  if (typed.contains(name)) return name;
  const auto base_typed = [&](std::string_view suffix, std::initializer_list<MetricType> types) -> std::optional<std::string> {
    if (!ends_with(name, suffix)) return std::nullopt;
    const std::string base = name.substr(0, name.size() - suffix.size());
    const auto it = typed.find(base);
    if (it == typed.end()) return std::nullopt;
    for (MetricType t : types)
      if (it->second == t) return base;
    return std::nullopt;
  };
  using T = MetricType;
  for (const auto& r : {base_typed("_bucket", {T::histogram, T::gaugehistogram}),
                        base_typed("_sum", {T::histogram, T::summary}), base_typed("_count", {T::histogram, T::summary}),
                        base_typed("_gsum", {T::gaugehistogram}), base_typed("_gcount", {T::gaugehistogram}),
                        base_typed("_total", {T::counter}), base_typed("_info", {T::info}),
                        base_typed("_created", {T::counter, T::histogram, T::summary})})
    if (r) return *r;
  (void)b;
  return name;
}

// Reports the exception being handled (a bad value) for `where` through `fail`; a
// SpecError, already located, and anything that is not bad input pass through.
template <class Fail>
void report_current(const Fail& fail, const std::string& where) {
  try {
    throw;
  } catch (const SpecError&) {
    throw;
  } catch (const std::invalid_argument& e) {  // ParseError among them
    fail(where, e.what());
  } catch (const OverflowError& e) {
    fail(where, e.what());
  }
}

}  // namespace

std::string_view to_string(MetricType type) noexcept {
  switch (type) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
    case MetricType::gaugehistogram: return "gaugehistogram";
    case MetricType::summary: return "summary";
    case MetricType::info: return "info";
    case MetricType::stateset: return "stateset";
    case MetricType::untyped: break;
  }
  return "untyped";
}

Sample parse_value(std::string_view text) {
  Sample s;
  std::string_view t = text;
  bool negative = false;
  bool signed_text = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    signed_text = true;
    t.remove_prefix(1);
  }
  const auto lower_eq = [](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if ((a[i] | 0x20) != b[i]) return false;
    return true;
  };
  if (lower_eq(t, "nan") && !signed_text) {
    s.special = Sample::Special::nan;
    return s;
  }
  if (lower_eq(t, "inf") || lower_eq(t, "infinity")) {
    s.special = negative ? Sample::Special::neg_inf : Sample::Special::pos_inf;
    return s;
  }
  if (t.empty() || t[0] == '+' || t[0] == '-') throw ParseError("bad value \"" + std::string(text) + "\"");
  // Go accepts `1.` and `.5`; JSON syntax (what Decimal::parse reads) does not.
  std::string body(t);
  if (body[0] == '.') body.insert(body.begin(), '0');
  const std::size_t e = body.find_first_of("eE");
  const std::size_t mantissa_end = e == std::string::npos ? body.size() : e;
  if (mantissa_end > 0 && body[mantissa_end - 1] == '.') body.erase(mantissa_end - 1, 1);
  try {
    s.value = Decimal::parse(body, ExcessDigits::round_half_even);
  } catch (const ParseError&) {
    throw ParseError("bad value \"" + std::string(text) + "\"");
  } catch (const OverflowError&) {
    throw OverflowError("value \"" + std::string(text) + "\" is beyond the decimal range");
  }
  if (negative) s.value = -s.value;
  return s;
}

namespace {

// Seconds from sample i to the next. Out of line (noinline): GCC 12 warns spuriously when
// this Rational arithmetic is inlined.
[[gnu::noinline]] Rational gap_after(const std::vector<const Sample*>& samples, std::size_t i) {
  return seconds_of(*samples[i + 1]->timestamp - *samples[i]->timestamp);
}

}  // namespace

Rational held_seconds(const std::vector<const Sample*>& samples, std::size_t i, const Rational& max_gap) {
  if (i + 1 >= samples.size()) return 0;
  Rational dt = gap_after(samples, i);
  return dt > max_gap ? Rational(0) : dt;
}

std::vector<const Sample*> usable_samples(const Series& series, const ErrorHandler& drop,
                                          const std::function<std::string(const Sample&)>& check) {
  std::vector<const Sample*> out;
  out.reserve(series.samples.size());
  for (std::size_t i = 0; i < series.samples.size(); ++i) {
    const Sample& sample = series.samples[i];
    std::string problem = sample.problem();
    if (problem.empty() && check) problem = check(sample);
    if (problem.empty()) out.push_back(&sample);
    else drop(sample_where(series, i), problem);
  }
  return out;
}

void GapCheck::add(const std::vector<const Sample*>& samples) {
  if (samples.size() < 2) return;
  ++series_;
  for (std::size_t i = 0; !held_ && i + 1 < samples.size(); ++i) {  // once one holds, only counted
    Rational gap = gap_after(samples, i);
    held_ = gap <= max_gap_;
    if (!shortest_ || gap < *shortest_) shortest_ = std::move(gap);
  }
}

std::optional<std::string> GapCheck::warning(const std::string& source) const {
  if (held_ || series_ == 0) return std::nullopt;
  const auto text = [](const Rational& seconds) { return Decimal::from_rational(seconds, Decimal::from_raw(1)).to_string(); };
  return source + ": " + (series_ == 1 ? std::string("the 1 series") : "all " + std::to_string(series_) + " series") +
         " with two or more samples " + (series_ == 1 ? "holds" : "hold") +
         " nothing: every gap between samples is longer than max_gap (" + text(max_gap_) + " s; the shortest is " +
         text(*shortest_) + " s), so all usage is 0; set max_gap a little above the query step (e.g. " +
         text(*shortest_ * 3 / 2) + " for a " + text(*shortest_) + " s step)";
}

std::optional<std::string> first_label(const Tags& labels, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys)
    if (const auto v = labels.get(k)) return std::string(*v);
  return std::nullopt;
}

std::optional<std::string> scraped_label(const Tags& labels, std::string_view name, std::string_view legacy) {
  const std::string exported = "exported_" + std::string(name);
  return legacy.empty() ? first_label(labels, {exported, name}) : first_label(labels, {exported, name, legacy});
}

std::optional<Rational> mig_profile_slices(std::string_view profile, char separator) {
  std::size_t i = 0;
  BigInt slices = 0;
  while (i < profile.size() && profile[i] >= '0' && profile[i] <= '9') slices = slices * 10 + (profile[i++] - '0');
  if (i == 0 || i + 1 >= profile.size() || profile[i] != 'g' || profile[i + 1] != separator || slices == 0)
    return std::nullopt;
  return Rational(slices);
}

std::string sample_where(const Series& series, std::size_t i) {
  if (!series.from_api) return series.where;
  return series.where + ".values[" + std::to_string(series.samples[i].position) + "]";
}

Exposition parse_text(std::string_view text, const std::string& source, const ErrorHandler& on_error) {
  Builder b;
  std::map<std::string, MetricType, std::less<>> typed;        // # TYPE seen
  std::map<std::string, std::size_t, std::less<>> help_lines;  // # HELP seen
  std::map<std::string, std::size_t, std::less<>> first_sample;  // family -> line of its first sample
  const auto fail = [&](const std::string& where, const std::string& what) {
    if (on_error) on_error(where, what);
    else throw SpecError(where, what);
  };
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = source + " line " + std::to_string(line_no);
    try {
      std::size_t i = 0;
      skip_spaces(line, i);
      if (i == line.size()) continue;
      // Label values and help text become tags and JSON: they must be UTF-8.
      if (const std::string problem = ingest::utf8_problem(line); !problem.empty()) throw ParseError("the line " + problem);
      if (line[i] == '#') {
        ++i;
        const std::string_view keyword = token(line, i);
        if (keyword != "HELP" && keyword != "TYPE") continue;  // a plain comment
        const std::string name(token(line, i));
        if (!valid_metric_name(name)) throw ParseError("bad metric name \"" + name + "\" in # " + std::string(keyword));
        skip_spaces(line, i);
        if (keyword == "TYPE") {
          const std::string_view type_text = token(line, i);
          const auto type = type_from(type_text);
          if (!type) throw ParseError("unknown metric type \"" + std::string(type_text) + "\"");
          if (typed.contains(name)) throw ParseError("second # TYPE for " + name);
          if (const auto it = first_sample.find(name); it != first_sample.end())
            throw ParseError("# TYPE for " + name + " after its samples (line " + std::to_string(it->second) + ")");
          typed.emplace(name, *type);
          b.family(name).type = *type;
        } else {
          if (help_lines.contains(name)) throw ParseError("second # HELP for " + name);
          help_lines.emplace(name, line_no);
          std::string help;
          for (std::size_t k = i; k < line.size(); ++k) {
            if (line[k] == '\\' && k + 1 < line.size() && (line[k + 1] == '\\' || line[k + 1] == 'n')) {
              help += line[k + 1] == 'n' ? '\n' : '\\';
              ++k;
            } else {
              help += line[k];
            }
          }
          b.family(name).help = std::move(help);
        }
        continue;
      }
      // name{labels} value [timestamp]
      const std::size_t name_begin = i;
      while (i < line.size() && name_char(line[i])) ++i;
      const std::string name(line.substr(name_begin, i - name_begin));
      if (!valid_metric_name(name)) throw ParseError("expected a metric name");
      std::vector<Tags::Pair> pairs;
      const std::size_t after_name = i;
      skip_spaces(line, i);
      if (i < line.size() && line[i] == '{') {
        ++i;
        while (true) {
          skip_spaces(line, i);
          if (i < line.size() && line[i] == '}') {
            ++i;
            break;
          }
          const std::size_t lb = i;
          if (i >= line.size() || !label_start(line[i])) throw ParseError("expected a label name or }");
          while (i < line.size() && label_char(line[i])) ++i;
          std::string label(line.substr(lb, i - lb));
          skip_spaces(line, i);
          if (i >= line.size() || line[i] != '=') throw ParseError("expected = after label " + label);
          ++i;
          skip_spaces(line, i);
          if (i >= line.size() || line[i] != '"') throw ParseError("expected a quoted value for label " + label);
          std::string value = quoted(line, i);
          if (label == "__name__") throw ParseError("label __name__ in a sample's labels");
          for (const auto& p : pairs)
            if (p.first == label) throw ParseError("label " + label + " given twice");
          pairs.emplace_back(std::move(label), std::move(value));
          skip_spaces(line, i);
          if (i < line.size() && line[i] == ',') {
            ++i;
            continue;
          }
          if (i < line.size() && line[i] == '}') {
            ++i;
            break;
          }
          throw ParseError("expected , or } after a label");
        }
      } else {
        i = after_name;
        if (i < line.size() && !is_space(line[i])) throw ParseError("expected a space before the value");
      }
      const std::string_view value_text = token(line, i);
      if (value_text.empty()) throw ParseError("missing value");
      Sample sample = parse_value(value_text);
      const std::string_view ts = token(line, i);
      if (!ts.empty()) sample.timestamp = instant_from(parse_int64(ts), 1'000'000);
      if (!token(line, i).empty()) throw ParseError("unexpected text after the timestamp");
      Tags labels(std::move(pairs));
      const auto key = std::make_pair(name, labels);
      if (const auto it = b.series_lines.find(key); it != b.series_lines.end())
        throw ParseError("duplicate series " + name + " (first on line " + std::to_string(it->second) + ")");
      const std::string family_name = family_of(b, name, typed);
      b.series_lines.emplace(key, line_no);
      first_sample.try_emplace(family_name, line_no);
      first_sample.try_emplace(name, line_no);
      sample.position = line_no;
      Series series{name, std::move(labels), {sample}, where, false, line_no};
      b.family(family_name).series.push_back(std::move(series));
    } catch (...) {
      report_current(fail, where);
    }
  }
  return std::move(b.exposition);
}

namespace {

Instant api_timestamp(const Value& v) {
  if (!v.is(Value::Type::number) && !v.is(Value::Type::string)) throw ParseError("timestamp must be a number");
  const Decimal seconds = Decimal::parse(v.text());
  const int128 raw = seconds.raw();
  constexpr int128 per_nano = Decimal::one_raw / 1'000'000'000;
  if (raw % per_nano != 0) throw ParseError("timestamp " + v.text() + " is finer than a nanosecond");
  const int128 ns = raw / per_nano;
  if (ns > std::numeric_limits<std::int64_t>::max() || ns < std::numeric_limits<std::int64_t>::min())
    throw ParseError("timestamp " + v.text() + " out of range");
  return Instant::from_unix_nanos(static_cast<std::int64_t>(ns));
}

Sample api_sample(const Value& pair) {
  if (!pair.is(Value::Type::array) || pair.items().size() != 2)
    throw ParseError("a sample must be [timestamp, \"value\"]");
  const Value& value = pair.items()[1];
  if (!value.is(Value::Type::string)) throw ParseError("a sample's value must be a string");
  Sample s = parse_value(value.text());
  s.timestamp = api_timestamp(pair.items()[0]);
  return s;
}

}  // namespace

namespace {

using Fail = std::function<void(const std::string&, const std::string&)>;

Fail failing(const ErrorHandler& on_error) {
  return [&on_error](const std::string& where, const std::string& what) {
    if (on_error) on_error(where, what);
    else throw SpecError(where, what);
  };
}

// An answer's status, error and warnings: SpecError for an error or anything but success.
// Returns data.resultType.
std::string read_answer_head(const Value& doc, const std::string& source, Exposition& exposition) {
  if (!doc.is(Value::Type::object)) throw SpecError(source, "a Prometheus API response must be a JSON object");
  const Value* status = doc.find("status");
  if (!status || !status->is(Value::Type::string)) throw SpecError(source, "a Prometheus API response needs \"status\"");
  if (status->text() == "error") {
    const Value* error = doc.find("error");
    const Value* type = doc.find("errorType");
    std::string what = "Prometheus returned an error";
    if (type && type->is(Value::Type::string)) what += " (" + type->text() + ")";
    what += ": " + (error && error->is(Value::Type::string) ? error->text() : std::string("(no error text)"));
    throw SpecError(source, what);
  }
  if (status->text() != "success") throw SpecError(source, "unknown status \"" + status->text() + "\"");
  const Value* data = doc.find("data");
  if (!data || !data->is(Value::Type::object)) throw SpecError(source + " data", "must be an object");
  const Value* type = data->find("resultType");
  const Value* result = data->find("result");
  if (!type || !type->is(Value::Type::string)) throw SpecError(source + " data.resultType", "is missing");
  if (!result || !result->is(Value::Type::array)) throw SpecError(source + " data.result", "must be an array");
  exposition.result_type = type->text();
  for (const char* key : {"warnings", "infos"})
    if (const Value* list = doc.find(key); list && list->is(Value::Type::array))
      for (const Value& w : list->items())
        exposition.warnings.push_back(source + ": Prometheus " + (key[0] == 'w' ? "warned" : "noted") + ": " +
                                      (w.is(Value::Type::string) ? w.text() : std::string("(not text)")));
  const std::string& rt = type->text();
  if (rt != "vector" && rt != "matrix" && rt != "scalar")
    throw SpecError(source + " data.resultType", "\"" + rt + "\" is not supported (vector, matrix or scalar)");
  return rt;
}

// One item of a vector or matrix answer's data.result, `where` naming it; none when it is
// refused (told to `fail`). `seen`: the series so far (labels with __name__ -> where).
std::optional<Series> read_api_item(const Value& item, const std::string& rt, const std::string& where,
                                    std::map<Tags, std::string>& seen, const Fail& fail) {
  try {
    if (!item.is(Value::Type::object)) throw ParseError("must be an object");
    const Value* metric = item.find("metric");
    if (!metric || !metric->is(Value::Type::object)) throw ParseError("needs \"metric\", an object");
    std::string name;
    std::vector<Tags::Pair> pairs;
    for (const auto& [k, v] : metric->members()) {
      if (!v.is(Value::Type::string)) throw ParseError("label " + k + " must be a string");
      if (k == "__name__") name = v.text();
      else pairs.emplace_back(k, v.text());
    }
    Tags labels(std::move(pairs));
    const Tags full = name.empty() ? labels : labels.with("__name__", name);
    if (const auto it = seen.find(full); it != seen.end()) throw ParseError("duplicate series (also at " + it->second + ")");
    seen.emplace(full, where);
    Series series{name, std::move(labels), {}, where, true, 0};
    if (item.find("histogram") || item.find("histograms")) throw ParseError("native histograms are not supported");
    if (rt == "vector") {
      const Value* value = item.find("value");
      if (!value) throw ParseError("needs \"value\"");
      series.where += ".value";
      series.from_api = false;  // one sample: its where is the series'
      series.samples.push_back(api_sample(*value));
    } else {
      const Value* values = item.find("values");
      if (!values || !values->is(Value::Type::array)) throw ParseError("needs \"values\", an array");
      series.samples.reserve(values->items().size());
      for (std::size_t k = 0; k < values->items().size(); ++k) {
        try {
          series.samples.push_back(api_sample(values->items()[k]));
          series.samples.back().position = k;
        } catch (...) {
          report_current(fail, series.where + ".values[" + std::to_string(k) + "]");
        }
      }
      for (std::size_t k = 1; k < series.samples.size(); ++k)
        if (!(*series.samples[k - 1].timestamp < *series.samples[k].timestamp)) throw ParseError("timestamps must increase");
    }
    return series;
  } catch (...) {
    report_current(fail, where);
  }
  return std::nullopt;
}

}  // namespace

Exposition parse_api_json(std::string_view text, const std::string& source, const ErrorHandler& on_error) {
  const Fail fail = failing(on_error);
  Value doc;
  try {
    doc = parse_json(text);
  } catch (const SpecError& e) {
    throw SpecError(source, std::string("not a Prometheus API response: ") + e.what());
  }
  Builder b;
  const std::string rt = read_answer_head(doc, source, b.exposition);
  const Value& result = *doc.find("data")->find("result");
  if (rt == "scalar") {
    const std::string where = source + " data.result";
    try {
      Series s{"", Tags{}, {api_sample(result)}, where, true, 0};
      b.family("").series.push_back(std::move(s));
    } catch (...) {
      report_current(fail, where);
    }
    return std::move(b.exposition);
  }
  std::map<Tags, std::string> seen;  // labels incl. __name__ -> where
  for (std::size_t r = 0; r < result.items().size(); ++r)
    if (auto series = read_api_item(result.items()[r], rt, path_index(source + " data.result", r), seen, fail)) {
      series->index = r;
      b.family(series->name).series.push_back(std::move(*series));
    }
  return std::move(b.exposition);
}

std::vector<const Series*> answer_order(const Exposition& exposition) {
  std::vector<const Series*> out;
  for (const Family& family : exposition.families)
    for (const Series& s : family.series) out.push_back(&s);
  std::sort(out.begin(), out.end(), [](const Series* a, const Series* b) { return a->index < b->index; });
  return out;
}

namespace {

// Splits a query_range answer read from a stream into its items of data.result, each read
// on its own as it ends, and the rest of the answer (its "skeleton", with data.result
// empty), so that memory holds one item at a time. A structure it does not expect (items
// before "status" or "resultType", a syntax error) stops it: Unstreamable, and the caller
// reads the answer whole for the exact error.
struct Unstreamable {};

class AnswerSplitter {
 public:
  explicit AnswerSplitter(std::istream& in) : in_(in) {}

  // The next item of data.result, valid until the next call; nullopt at the answer's end,
  // when skeleton() holds the rest.
  std::optional<std::string_view> next_item() {
    char c;
    while (next(c)) {
      if (in_string_) {
        emit(c);
        if (escaped_) escaped_ = false;
        else if (c == '\\') escaped_ = true;
        else if (c == '"') {
          end_string();
          continue;
        }
        string_ += c;
        continue;
      }
      if (in_result() && stack_.size() == 3) {  // between the items of data.result
        if (c == ']') {
          close(c);
        } else if (c != ',' && c != ' ' && c != '\n' && c != '\r' && c != '\t') {
          if (status_ != "success" || result_type_.empty()) throw Unstreamable{};
          read_item(c);
          return std::string_view(item_);
        }
        continue;
      }
      switch (c) {
        case '"':
          in_string_ = true;
          string_.clear();
          emit(c);
          break;
        case '{':
        case '[':
          emit(c);
          stack_.push_back({c, c == '{', key_here()});
          break;
        case '}':
        case ']':
          close(c);
          break;
        case ':':
          emit(c);
          if (!stack_.empty()) stack_.back().expect_key = false;
          break;
        case ',':
          emit(c);
          if (!stack_.empty() && stack_.back().kind == '{') stack_.back().expect_key = true;
          break;
        default: emit(c);
      }
    }
    if (in_string_ || !stack_.empty()) throw Unstreamable{};
    return std::nullopt;
  }
  const std::string& result_type() const noexcept { return result_type_; }
  // The answer without its items, once next_item() has returned nullopt.
  std::string& skeleton() noexcept { return skeleton_; }

 private:
  struct Level {
    char kind;
    bool expect_key;
    std::string key;  // in its parent: the member this container is the value of
  };

  bool next(char& c) {
    if (at_ == buffer_.size()) {
      buffer_.resize(1 << 20);
      in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
      buffer_.resize(static_cast<std::size_t>(in_.gcount()));
      at_ = 0;
      if (buffer_.empty()) return false;
    }
    c = buffer_[at_++];
    return true;
  }
  void emit(char c) { skeleton_ += c; }
  // The key of the member whose value starts now, at the current level.
  std::string key_here() const { return stack_.empty() || stack_.back().kind != '{' ? "" : last_key_; }
  bool in_result() const {
    return stack_.size() >= 3 && stack_[0].kind == '{' && stack_[1].kind == '{' && stack_[1].key == "data" &&
           stack_[2].kind == '[' && stack_[2].key == "result";
  }
  void close(char c) {
    if (stack_.empty() || stack_.back().kind != (c == '}' ? '{' : '[')) throw Unstreamable{};
    stack_.pop_back();
    emit(c);
  }
  void end_string() {
    in_string_ = false;
    if (string_.find('\\') != std::string::npos) string_.clear();  // not a key or value looked for
    if (stack_.empty() || stack_.back().kind != '{') return;
    if (stack_.back().expect_key) {
      last_key_ = string_;
      return;
    }
    // A string value: status at the root, resultType in data.
    if (stack_.size() == 1 && last_key_ == "status") status_ = string_;
    if (stack_.size() == 2 && stack_[1].key == "data" && last_key_ == "resultType") result_type_ = string_;
  }
  // One item, from its first character to where it ends, read on its own.
  void read_item(char first) {
    item_.assign(1, first);
    if (first != '{') throw Unstreamable{};
    int depth = 1;
    bool string = false, escaped = false;
    char c;
    while (depth > 0) {
      if (!next(c)) throw Unstreamable{};
      item_ += c;
      if (string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') string = false;
      } else if (c == '"') {
        string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        --depth;
      }
    }
  }

  std::istream& in_;
  std::string buffer_, skeleton_, item_, string_, last_key_, status_, result_type_;
  std::size_t at_ = 0;
  std::vector<Level> stack_;
  bool in_string_ = false, escaped_ = false;
};

}  // namespace

std::optional<Exposition> stream_api_json(std::istream& in, const std::string& source, const ErrorHandler& on_error,
                                          const std::function<void(const Series&)>& each) {
  // What is wrong in an item is told once the whole answer has been read, as parse_api_json
  // tells it after parsing all of it: a syntax error anywhere wins over it.
  std::vector<std::pair<std::string, std::string>> told;
  const Fail fail = [&told](const std::string& where, const std::string& what) { told.emplace_back(where, what); };
  std::map<Tags, std::string> seen;  // labels incl. __name__ -> where
  std::size_t index = 0;
  std::string skeleton;
  try {
    AnswerSplitter splitter(in);
    while (const auto text = splitter.next_item()) {
      const std::string where = path_index(source + " data.result", index++);
      Value item;
      try {
        item = parse_json(*text);
      } catch (const SpecError&) {
        throw Unstreamable{};
      }
      if (auto series = read_api_item(item, splitter.result_type(), where, seen, fail)) {
        series->index = index - 1;
        each(*series);
      }
    }
    skeleton = std::move(splitter.skeleton());
  } catch (const Unstreamable&) {
    return std::nullopt;
  }
  Value doc;
  try {
    doc = parse_json(skeleton);
  } catch (const SpecError&) {
    return std::nullopt;
  }
  Exposition out;
  if (read_answer_head(doc, source, out) == "scalar") return std::nullopt;
  const Fail tell = failing(on_error);
  for (const auto& [where, what] : told) tell(where, what);
  return out;
}

IngestResult stream_or_whole(std::istream& in, const std::function<std::optional<IngestResult>(std::istream&)>& stream,
                             const std::function<IngestResult(std::string_view)>& whole) {
  const std::istream::pos_type start = in.tellg();
  if (start != std::istream::pos_type(-1)) {
    if (std::optional<IngestResult> streamed = stream(in)) return std::move(*streamed);
    in.clear();
    in.seekg(start);
  }
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return whole(text);
}

namespace {

// An item of a matrix answer as the merge needs it: its labels (with __name__, sorted by
// name, as Prometheus sorts them), its "metric" object's text and its "values" array's
// text between the brackets, all as the server wrote them.
struct MergeItem {
  std::vector<std::pair<std::string, std::string>> labels;
  std::string metric;
  std::string values;
};

constexpr std::size_t npos = std::string_view::npos;

bool json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_space(std::string_view text, std::size_t i) {
  while (i < text.size() && json_space(text[i])) ++i;
  return i;
}

// Where the JSON value that starts at text[i] ends (one past it), or npos when the text
// ends first. Only its extent: what is inside is checked when the merged answer is read.
std::size_t skip_value(std::string_view text, std::size_t i) {
  if (i >= text.size()) return npos;
  if (text[i] == '"') {
    for (++i; i < text.size(); ++i) {
      if (text[i] == '\\') ++i;
      else if (text[i] == '"') return i + 1;
    }
    return npos;
  }
  if (text[i] == '{' || text[i] == '[') {
    int depth = 0;
    bool string = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (string) {
        if (c == '\\') ++i;
        else if (c == '"') string = false;
      } else if (c == '"') {
        string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
    }
    return npos;
  }
  const std::size_t start = i;
  while (i < text.size() && text[i] != ',' && text[i] != '}' && text[i] != ']' && !json_space(text[i])) ++i;
  return i == start ? npos : i;
}

// Nullopt for an item the format must see on its own to say what is wrong with it. Only
// the labels are parsed: the values are copied as the server wrote them, and read (and
// checked) when the merged answer is.
std::optional<MergeItem> merge_item(std::string_view text) {
  std::string_view metric_text, values_text;
  std::size_t i = skip_space(text, 0);
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  for (i = skip_space(text, i + 1); i < text.size() && text[i] != '}';) {
    const std::size_t key_end = text[i] == '"' ? skip_value(text, i) : npos;
    if (key_end == npos) return std::nullopt;
    const std::string_view key = text.substr(i + 1, key_end - i - 2);
    const std::size_t colon = skip_space(text, key_end);
    if (colon >= text.size() || text[colon] != ':') return std::nullopt;
    const std::size_t value = skip_space(text, colon + 1);
    const std::size_t value_end = skip_value(text, value);
    if (value_end == npos) return std::nullopt;
    if (key == "metric") metric_text = text.substr(value, value_end - value);
    if (key == "values") values_text = text.substr(value, value_end - value);
    i = skip_space(text, value_end);
    if (i < text.size() && text[i] == ',') i = skip_space(text, i + 1);
    else if (i >= text.size() || text[i] != '}') return std::nullopt;
  }
  if (metric_text.empty() || values_text.size() < 2 || values_text.front() != '[') return std::nullopt;
  Value metric;
  try {
    metric = parse_json(metric_text);
  } catch (const SpecError&) {
    return std::nullopt;
  }
  if (!metric.is(Value::Type::object)) return std::nullopt;
  MergeItem out;
  for (const auto& [k, v] : metric.members()) {
    if (!v.is(Value::Type::string)) return std::nullopt;
    out.labels.emplace_back(k, v.text());
  }
  std::sort(out.labels.begin(), out.labels.end());
  out.metric = metric_text;
  out.values = values_text.substr(1, values_text.size() - 2);
  if (skip_space(out.values, 0) == out.values.size()) out.values.clear();
  return out;
}

struct PartUnreadable {
  std::size_t part;
};
struct PartsUnsorted {};

// One part being read: its items in turn, and its warnings once read to its end.
class PartReader {
 public:
  PartReader(const std::filesystem::path& file, std::size_t index) : in_(file, std::ios::binary), splitter_(in_), index_(index) {
    if (!in_) throw PartUnreadable{index};
  }
  // The next item; nullopt at the end. With `sorted`, an item before the one before is
  // PartsUnsorted.
  std::optional<MergeItem> next(bool sorted) {
    std::optional<std::string_view> text;
    try {
      text = splitter_.next_item();
    } catch (const Unstreamable&) {
      throw PartUnreadable{index_};
    }
    if (!text) {
      finish();
      return std::nullopt;
    }
    if (splitter_.result_type() != "matrix") throw PartUnreadable{index_};
    auto item = merge_item(*text);
    if (!item) throw PartUnreadable{index_};
    if (sorted && last_ && !(*last_ < item->labels)) throw PartsUnsorted{};
    last_ = item->labels;
    return item;
  }
  const std::vector<std::string>& notes(const char* key) const { return key[0] == 'w' ? warnings_ : infos_; }

 private:
  void finish() {
    Value doc;
    try {
      doc = parse_json(splitter_.skeleton());
    } catch (const SpecError&) {
      throw PartUnreadable{index_};
    }
    Exposition head;
    try {
      if (read_answer_head(doc, "", head) != "matrix") throw PartUnreadable{index_};
    } catch (const SpecError&) {
      throw PartUnreadable{index_};
    }
    for (const char* key : {"warnings", "infos"})
      if (const Value* list = doc.find(key); list && list->is(Value::Type::array))
        for (const Value& w : list->items())
          if (w.is(Value::Type::string)) (key[0] == 'w' ? warnings_ : infos_).push_back(w.text());
  }

  std::ifstream in_;
  AnswerSplitter splitter_;
  std::size_t index_;
  std::optional<std::vector<std::pair<std::string, std::string>>> last_;
  std::vector<std::string> warnings_, infos_;
};

std::string json_quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void write_item(std::ostream& out, bool& first, const std::string& metric, const std::string& values) {
  out << (first ? "" : ",") << "{\"metric\":" << metric << ",\"values\":[" << values << "]}";
  first = false;
}

void write_tail(std::ostream& out, const std::deque<PartReader>& parts) {
  out << "]}";
  for (const char* key : {"warnings", "infos"}) {
    std::vector<std::string> all;
    for (const PartReader& p : parts)
      for (const std::string& w : p.notes(key))
        if (std::find(all.begin(), all.end(), w) == all.end()) all.push_back(w);
    if (all.empty()) continue;
    out << ",\"" << key << "\":[";
    for (std::size_t i = 0; i < all.size(); ++i) out << (i ? "," : "") << json_quoted(all[i]);
    out << "]";
  }
  out << "}";
}

constexpr std::string_view merged_head = R"({"status":"success","data":{"resultType":"matrix","result":[)";

// The parts merged as they come, one item of each held: Prometheus sorts a range answer's
// series by their labels.
void merge_sorted(const std::vector<std::filesystem::path>& files, std::ostream& out) {
  std::deque<PartReader> parts;  // not moved: each holds a stream its splitter reads
  for (std::size_t p = 0; p < files.size(); ++p) parts.emplace_back(files[p], p);
  std::vector<std::optional<MergeItem>> heads;
  for (PartReader& p : parts) heads.push_back(p.next(true));
  out << merged_head;
  bool first = true;
  for (;;) {
    const std::optional<MergeItem>* least = nullptr;
    for (const auto& h : heads)
      if (h && (!least || h->labels < (*least)->labels)) least = &h;
    if (!least) break;
    const auto labels = (*least)->labels;
    const std::string metric = (*least)->metric;
    std::string values;
    for (std::size_t p = 0; p < parts.size(); ++p) {
      if (!heads[p] || heads[p]->labels != labels) continue;
      if (!heads[p]->values.empty()) values += (values.empty() ? "" : ",") + heads[p]->values;
      heads[p] = parts[p].next(true);
    }
    write_item(out, first, metric, values);
  }
  write_tail(out, parts);
}

// The same for parts whose series are not sorted (a server other than Prometheus): every
// series held until the last part is read.
void merge_in_memory(const std::vector<std::filesystem::path>& files, std::ostream& out) {
  std::deque<PartReader> parts;  // not moved: each holds a stream its splitter reads
  for (std::size_t p = 0; p < files.size(); ++p) parts.emplace_back(files[p], p);
  std::map<std::vector<std::pair<std::string, std::string>>, std::pair<std::string, std::string>> series;
  for (PartReader& p : parts)
    while (auto item = p.next(false)) {
      auto& [metric, values] = series[item->labels];
      if (metric.empty()) metric = std::move(item->metric);
      if (!item->values.empty()) values += (values.empty() ? "" : ",") + item->values;
    }
  out << merged_head;
  bool first = true;
  for (const auto& [labels, text] : series) write_item(out, first, text.first, text.second);
  write_tail(out, parts);
}

}  // namespace

std::optional<std::size_t> merge_range_answers(const std::vector<std::filesystem::path>& parts,
                                               const std::filesystem::path& merged) {
  const auto write = [&](auto merge) {
    std::ofstream out(merged, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + merged.string());
    merge(parts, out);
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + merged.string());
  };
  try {
    try {
      write(merge_sorted);
    } catch (const PartsUnsorted&) {
      write(merge_in_memory);
    }
  } catch (const PartUnreadable& bad) {
    return bad.part;
  }
  return std::nullopt;
}

}  // namespace prometheus
APPORTION_END_NAMESPACE
