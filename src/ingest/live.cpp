// Live sources (docs/ingest.md, "Live sources"): an input's `url` fetched and read by its
// format exactly as the same answer saved to a file. Prometheus ranges longer than the
// server's point limit are fetched in parts and merged into the one answer of the whole
// range; every answer goes to a temporary file, so memory holds what the format holds.

#include <cstdlib>
#include <limits>
#include <mutex>
#include <fstream>

#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "http.hpp"
#include "prometheus.hpp"
#include "../text.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

// A Decimal's raw units in a nanosecond and in a millisecond of seconds.
constexpr int128 raw_per_nano = Decimal::one_raw / 1'000'000'000;
constexpr int128 raw_per_milli = Decimal::one_raw / 1000;

}  // namespace

std::string ingest::shown_address(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t authority = scheme == std::string::npos ? 0 : scheme + 3;
  const std::size_t end = url.find_first_of("/?#", authority);
  const std::size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < authority) return url;
  return url.substr(0, authority) + url.substr(at + 1);
}

namespace {

// An instant as RFC 3339 text or Unix seconds (a number or numeric text), as Prometheus
// takes them.
Instant read_time(const Value& v, const std::string& path) {
  if (v.is(Value::Type::number) || (v.is(Value::Type::string) && !v.text().empty() &&
                                    v.text().find_first_not_of("0123456789.") == std::string::npos)) {
    const Decimal seconds = read_non_negative(v, path);
    const int128 nanos = seconds.raw() / raw_per_nano;
    if (nanos > std::numeric_limits<std::int64_t>::max())
      throw SpecError(path, "is beyond the year 2261 (got " + v.text() + ")");
    return Instant::from_unix_nanos(static_cast<std::int64_t>(nanos));
  }
  return read_instant(v, path);
}

// Unix seconds as Prometheus reads them, exact to the nanosecond.
std::string unix_seconds(Instant t) {
  return Decimal::from_raw(static_cast<int128>(t.unix_nanos()) * raw_per_nano).to_string();
}

struct Transport {
  std::string url;    // the base address, no trailing slash
  std::string shown;  // without credentials
  ingest::HttpRequest request;
};

Transport read_transport(ObjectReader& options, const LiveContext& context) {
  Transport t;
  const std::string url_path = options.path("url");
  t.url = read_string(options.required("url"), url_path);
  if (t.url.rfind("http://", 0) != 0 && t.url.rfind("https://", 0) != 0)
    throw SpecError(url_path, "must start with http:// or https:// (got \"" + ingest::shown_address(t.url) + "\")");
  while (t.url.size() > 8 && t.url.back() == '/') t.url.pop_back();
  t.shown = ingest::shown_address(t.url);
  const Value* file = options.optional("bearer_token_file");
  const Value* env = options.optional("bearer_token_env");
  if (file && env)
    throw SpecError(options.path("bearer_token_env"), "give bearer_token_file or bearer_token_env, not both");
  if (file) {
    const std::string name = read_string(*file, options.path("bearer_token_file"));
    const std::filesystem::path where = context.base_dir / name;
    std::ifstream in(where, std::ios::binary);
    if (!in) throw SpecError(options.path("bearer_token_file"), "cannot read \"" + name + "\"");
    std::string token{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    if (token.empty()) throw SpecError(options.path("bearer_token_file"), "\"" + name + "\" holds no token");
    t.request.bearer_token = std::move(token);
  }
  if (env) {
    const std::string name = read_string(*env, options.path("bearer_token_env"));
    const char* token = name.empty() ? nullptr : std::getenv(name.c_str());
    if (!token || !*token) throw SpecError(options.path("bearer_token_env"), "the environment variable " + name + " is not set");
    t.request.bearer_token = token;
  }
  if (t.request.bearer_token && t.request.bearer_token->find_first_of("\r\n") != std::string::npos)
    throw SpecError(options.path(file ? "bearer_token_file" : "bearer_token_env"), "the token must be one line");
  if (const Value* v = options.optional("ca_file"))
    t.request.ca_file = (context.base_dir / read_string(*v, options.path("ca_file"))).string();
  if (const Value* v = options.optional("timeout")) {
    const Decimal seconds = ingest::read_seconds(*v, options.path("timeout"));
    t.request.timeout = std::chrono::milliseconds(
        static_cast<long long>(std::max<int128>(1, seconds.raw() / raw_per_milli)));
  }
  if (const Value* v = options.optional("retries")) {
    const Decimal n = read_non_negative(*v, options.path("retries"));
    if (n.fractional_digits() != 0 || n > Decimal(10))
      throw SpecError(options.path("retries"), "must be a whole number from 0 to 10 (got " + v->text() + ")");
    t.request.retries = static_cast<unsigned>(n.raw() / Decimal::one_raw);
  }
  t.request.max_bytes = context.max_bytes;
  return t;
}

// Fetches into `file`; an answer that is not 2xx is read by the format (a server's error
// answer says what went wrong, as the same answer saved to a file would), and if the
// format takes it, the status is the error.
void fetch(const Transport& t, const std::string& address, ingest::HttpRequest request, const std::filesystem::path& file,
           const std::string& url_path, const std::function<void()>& read_error_answer) {
  request.url = address;
  ingest::HttpAnswer answer;
  try {
    answer = ingest::http_fetch(request, file, t.shown);
  } catch (const ingest::HttpError& e) {
    throw SpecError(url_path, e.what());
  }
  if (answer.status >= 200 && answer.status < 300) return;
  std::string body;
  {
    std::ifstream in(file, std::ios::binary);
    body.resize(4096);
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<std::size_t>(in.gcount()));
  }
  if (body.find_first_not_of(" \t\r\n") != std::string::npos && body[body.find_first_not_of(" \t\r\n")] == '{')
    read_error_answer();
  std::string line = body.substr(0, body.find_first_of("\r\n"));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  throw SpecError(t.shown, "the server answered HTTP " + std::to_string(answer.status) + (line.empty() ? "" : ": " + line));
}

// A JSON value written back as text, numbers as the server wrote them.
void put_value(text::Buffer& out, const Value& v) {
  switch (v.type()) {
    case Value::Type::string: text::put_json_string(out, v.text()); return;
    case Value::Type::array:
      out += '[';
      for (std::size_t i = 0; i < v.items().size(); ++i) {
        if (i) out += ',';
        put_value(out, v.items()[i]);
      }
      out += ']';
      return;
    case Value::Type::object:
      out += '{';
      for (std::size_t i = 0; i < v.members().size(); ++i) {
        if (i) out += ',';
        text::put_json_string(out, v.members()[i].first);
        out += ':';
        put_value(out, v.members()[i].second);
      }
      out += '}';
      return;
    case Value::Type::null: out += "null"; return;
    default: out += v.text(); return;
  }
}

// MLflow: every active experiment (`experiments/search`), then their runs (`runs/search`),
// page after page, written as one answer, {"experiments": [...], "runs": [...]}, which the
// format reads as it reads the same saved to a file.
void fetch_mlflow(const Transport& t, const std::string& url_path, const std::filesystem::path& page,
                  const std::filesystem::path& merged, const std::function<void()>& read_error_answer) {
  std::vector<Value> experiments, runs;
  const auto pages = [&](const std::string& api, const std::string& body_without_token, const char* key,
                         std::vector<Value>& into) {
    std::string token;
    for (std::size_t n = 0;; ++n) {
      if (n > 100'000) throw SpecError(t.shown, "gives more than 100000 pages of " + std::string(key));
      ingest::HttpRequest request = t.request;
      request.content_type = "application/json";
      std::string body = body_without_token;
      if (!token.empty()) {
        body.pop_back();
        body += ",\"page_token\":";
        text::put_json_string(body, token);
        body += '}';
      }
      request.form = body;
      fetch(t, t.url + "/api/2.0/mlflow/" + api, request, page, url_path, read_error_answer);
      std::ifstream in(page, std::ios::binary);
      const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
      Value answer;
      try {
        answer = parse_json(text);
      } catch (const SpecError& e) {
        throw SpecError(t.shown, "the " + api + " answer is not JSON: " + e.what());
      }
      if (!answer.is(Value::Type::object)) throw SpecError(t.shown, "the " + api + " answer is not a JSON object");
      for (Value::Member& m : answer.members()) {
        if (m.first != key) continue;
        if (!m.second.is(Value::Type::array)) throw SpecError(t.shown, "the " + api + " answer's " + key + " is not a list");
        for (Value& v : m.second.items()) into.push_back(std::move(v));
      }
      const Value* next = answer.find("next_page_token");
      if (!next || !next->is(Value::Type::string) || next->text().empty()) return;
      token = next->text();
    }
  };
  pages("experiments/search", R"({"max_results":1000,"view_type":"ACTIVE_ONLY"})", "experiments", experiments);
  if (!experiments.empty()) {
    std::string ids;
    for (const Value& e : experiments)
      if (const Value* id = e.find("experiment_id")) {
        ids += ids.empty() ? "" : ",";
        put_value(ids, *id);
      }
    pages("runs/search", R"({"experiment_ids":[)" + ids + R"(],"max_results":1000,"run_view_type":"ACTIVE_ONLY"})", "runs",
          runs);
  }
  text::Buffer out;
  out += R"({"experiments":)";
  put_value(out, Value::array(std::move(experiments)));
  out += R"(,"runs":)";
  put_value(out, Value::array(std::move(runs)));
  out += "}\n";
  std::ofstream file(merged, std::ios::binary);
  file << out;
  if (!file.flush()) throw std::runtime_error("cannot write " + merged.string());
}

std::string known_live(const std::map<std::string, LiveSource, std::less<>>& sources) {
  std::string known;
  for (const auto& [name, s] : sources) known += (known.empty() ? "" : ", ") + name;
  return known;
}

}  // namespace

void IngestRegistry::add_live(std::string_view format, LiveSource source) {
  if (source.api == LiveSource::Api::prometheus_range && !source.default_query)
    throw std::invalid_argument("a Prometheus live source needs a default_query (returning nullopt for none)");
  std::unique_lock lock(mutex_);
  if (parsers_.find(format) == parsers_.end())
    throw std::invalid_argument("ingest format \"" + std::string(format) + "\" is not registered");
  if (!live_sources_.emplace(std::string(format), std::move(source)).second)
    throw std::invalid_argument("ingest format \"" + std::string(format) + "\" already has a live source");
}

bool IngestRegistry::live(std::string_view format) const {
  std::shared_lock lock(mutex_);
  return live_sources_.find(format) != live_sources_.end();
}

IngestResult IngestRegistry::parse_live(std::string_view format, ObjectReader& options, const LiveContext& context) const {
  LiveSource source;
  {
    std::shared_lock lock(mutex_);
    const auto it = live_sources_.find(format);
    if (it == live_sources_.end())
      throw SpecError(options.path("url"), "format \"" + std::string(format) + "\" reads files only (live: " +
                                               known_live(live_sources_) + "); give \"path\"");
    source = it->second;
  }
  const std::string url_path = options.path("url");
  const Transport transport = read_transport(options, context);
  if (source.api == LiveSource::Api::mlflow_runs) {  // runs are read whole; the format's own start and end clip them
    const ingest::TempDir temp;
    const std::filesystem::path page = temp.file("page.json"), merged = temp.file("runs.json");
    const auto read = [&](const std::filesystem::path& file) {
      std::ifstream in(file, std::ios::binary);
      return parse_stream(format, in, options, transport.shown);
    };
    fetch_mlflow(transport, url_path, page, merged, [&] { read(page); });
    return read(merged);
  }

  // The window: the input's own, else the series'.
  const Value* start_v = options.optional("start");
  const Value* end_v = options.optional("end");
  if (!start_v != !end_v)
    throw SpecError(options.path(start_v ? "end" : "start"), "is required with " + std::string(start_v ? "start" : "end"));
  std::optional<Instant> start, end;
  if (start_v) {
    start = read_time(*start_v, options.path("start"));
    end = read_time(*end_v, options.path("end"));
    if (*end < *start) throw SpecError(options.path("end"), "is before start");
  } else if (context.series) {
    start = context.series->start;
    end = context.series->end;
  } else {
    throw SpecError(url_path, "a live input needs start and end (or the spec's series) for its window");
  }

  const ingest::TempDir temp;
  const auto read_file = [&](const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + file.string());
    return parse_stream(format, in, options, transport.shown);
  };

  if (source.api == LiveSource::Api::opencost_allocation) {
    std::string query = "window=" + ingest::url_encode(start->to_string() + "," + end->to_string());
    if (const Value* v = options.optional("aggregate")) {
      std::string by;
      for (const std::string& k : ingest::read_names(*v, options.path("aggregate"))) by += (by.empty() ? "" : ",") + k;
      if (by.empty()) throw SpecError(options.path("aggregate"), "must name at least one property");
      query += "&aggregate=" + ingest::url_encode(by);
    }
    std::optional<std::string> step;
    if (const Value* v = options.optional("step")) {
      step = ingest::read_seconds(*v, options.path("step")).to_string() + "s";  // Go's duration syntax
    } else if (context.series) {
      // One allocation set per bucket (a month's days for a monthly series).
      step = context.series->step == BucketStep::hour ? "1h" : context.series->step == BucketStep::week ? "7d" : "1d";
    }
    if (step) query += "&step=" + ingest::url_encode(*step);
    const std::filesystem::path file = temp.file("allocation.json");
    fetch(transport, transport.url + "/allocation/compute?" + query, transport.request, file, url_path,
          [&] { read_file(file); });
    return read_file(file);
  }

  // Prometheus: `/api/v1/query_range`, in parts of at most max_points evaluation times.
  Decimal step(60);
  if (const Value* v = options.optional("step")) step = ingest::read_seconds(*v, options.path("step"));
  const int128 step_ns = step.raw() / raw_per_nano;
  if (step_ns <= 0 || step.raw() % raw_per_milli != 0)
    throw SpecError(options.path("step"), "must be a whole number of milliseconds, as Prometheus reads it");
  std::int64_t max_points = 11'000;  // Prometheus refuses more points a series
  if (const Value* v = options.optional("max_points")) {
    const Decimal n = read_non_negative(*v, options.path("max_points"));
    if (n.fractional_digits() != 0 || n.is_zero() || n > Decimal(11'000))
      throw SpecError(options.path("max_points"), "must be a whole number from 1 to 11000 (got " + v->text() + ")");
    max_points = static_cast<std::int64_t>(n.raw() / Decimal::one_raw);
  }
  // Last: a format's default query reads its options, and may check them all.
  std::string query;
  if (const Value* v = options.optional("query")) {
    query = read_string(*v, options.path("query"));
    if (query.empty()) throw SpecError(options.path("query"), "must not be empty");
  } else if (auto q = source.default_query(options)) {
    query = std::move(*q);
  } else {
    throw SpecError(options.path("query"), "is required: format \"" + std::string(format) + "\" has no default query");
  }
  const int128 span = static_cast<int128>(end->unix_nanos()) - start->unix_nanos();
  const int128 points = span / step_ns + 1;
  const int128 part_count = (points + max_points - 1) / max_points;
  if (part_count > 100'000)
    throw SpecError(options.path("step"), "makes " + std::to_string(static_cast<long long>(points)) +
                                              " points a series: give a longer step or a shorter window");
  std::vector<std::filesystem::path> parts;
  for (int128 p = 0; p < part_count; ++p) {
    // Each part starts on the whole range's grid, so the parts' samples are the samples of
    // one query of the range: Prometheus evaluates start, start + step, ..., up to end
    // inclusive, and the next part starts a step after the last.
    const Instant part_start = Instant::from_unix_nanos(static_cast<std::int64_t>(start->unix_nanos() + p * max_points * step_ns));
    const Instant part_end = Instant::from_unix_nanos(static_cast<std::int64_t>(
        std::min<int128>(end->unix_nanos(), part_start.unix_nanos() + (max_points - 1) * step_ns)));
    ingest::HttpRequest request = transport.request;
    request.form = "query=" + ingest::url_encode(query) + "&start=" + unix_seconds(part_start) +
                   "&end=" + unix_seconds(part_end) + "&step=" + step.to_string();
    parts.push_back(temp.file("part-" + std::to_string(static_cast<long long>(p)) + ".json"));
    const std::filesystem::path& file = parts.back();
    fetch(transport, transport.url + "/api/v1/query_range", request, file, url_path, [&] { read_file(file); });
  }
  if (parts.size() == 1) return read_file(parts[0]);
  const std::filesystem::path merged = temp.file("merged.json");
  if (const auto bad = prometheus::merge_range_answers(parts, merged)) {
    read_file(parts[*bad]);  // says what is wrong with it
    throw SpecError(transport.shown, "part " + std::to_string(*bad + 1) + " of the range is not a query_range answer");
  }
  return read_file(merged);
}

APPORTION_END_NAMESPACE
