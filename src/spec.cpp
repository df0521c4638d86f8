// The spec runner: a spec document (apportion::Value) to an Allocation, and a Result to
// the result document. Every key is checked; every error names its JSON path.

#include <algorithm>
#include <array>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <future>
#include <iterator>
#include <unordered_map>
#include <utility>

#ifdef __linux__
#include <sys/mman.h>
#endif

#include <nlohmann/json.hpp>

#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "apportion/plan.hpp"
#include "apportion/render.hpp"
#include "apportion/spec.hpp"

#include "text.hpp"
#include "governance_spec.hpp"
#include "ingest/formats.hpp"
#include "json_fast.hpp"

APPORTION_BEGIN_NAMESPACE

namespace {

Currency read_currency(const Value& v, const std::string& path) {
  const std::string code = read_string(v, path);
  try {
    return Currency(code);
  } catch (const ParseError& e) {
    throw SpecError(path, e.what());
  }
}

AmortizedSource read_amortized(const Value& v, const std::string& path) {
  ObjectReader ar(v, path);
  const Decimal amount = read_decimal(ar.required("amount"), ar.path("amount"));
  const Interval term = read_interval(ar.required("term"), ar.path("term"));
  const Interval window = read_interval(ar.required("window"), ar.path("window"));
  ar.finish();
  return AmortizedSource{amount, term, window};
}

// {"resource": "cpu", "tags": {"cluster": "c1"}, "cost": "11" | "amortized": {...}, "capacity": "11"}
PoolPart read_pool_part(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  PoolPart part;
  part.resource = read_string(r.required("resource"), r.path("resource"));
  if (part.resource.empty()) throw SpecError(r.path("resource"), "must not be empty");
  if (const Value* t = r.optional("tags")) part.tags = read_tags(*t, r.path("tags"));
  const Value* cost = r.optional("cost");
  const Value* amortized = r.optional("amortized");
  if (!cost == !amortized) throw SpecError(path, cost ? "gives both \"cost\" and \"amortized\"" : "needs \"cost\" or \"amortized\"");
  if (cost) part.source = CostSource{read_non_negative(*cost, r.path("cost"))};
  else part.source = read_amortized(*amortized, r.path("amortized"));
  if (amortized && std::get<AmortizedSource>(part.source).amount.signum() < 0)
    throw SpecError(r.path("amortized") + ".amount", "must not be negative");
  if (const Value* c = r.optional("capacity")) part.capacity = read_non_negative(*c, r.path("capacity"));
  r.finish();
  return part;
}

Pool read_pool(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Pool pool;
  pool.id = read_string(r.required("id"), r.path("id"));
  if (const Value* t = r.optional("tags")) pool.tags = read_tags(*t, r.path("tags"));
  if (const Value* c = r.optional("currency")) pool.currency = read_currency(*c, r.path("currency"));
  int sources = 0;
  if (const Value* c = r.optional("cost")) {
    pool.source = CostSource{read_decimal(*c, r.path("cost"))};
    ++sources;
  }
  if (const Value* p = r.optional("price")) {
    ObjectReader pr(*p, r.path("price"));
    PriceSource price;
    price.sku = read_string(pr.required("sku"), pr.path("sku"));
    if (const Value* t = pr.optional("tier")) price.tier = read_string(*t, pr.path("tier"));
    price.quantity = read_non_negative(pr.required("quantity"), pr.path("quantity"));
    const Value* start = pr.optional("start");
    const Value* end = pr.optional("end");
    if (start && end) {
      const Instant s = read_instant(*start, pr.path("start"));
      const Instant e = read_instant(*end, pr.path("end"));
      if (e < s) throw SpecError(pr.path("end"), "is before start (" + e.to_string() + " < " + s.to_string() + ")");
      price.interval = Interval(s, e);
    } else if (start || end) {
      throw SpecError(pr.path(start ? "end" : "start"), "start and end must be given together");
    }
    pr.finish();
    pool.source = std::move(price);
    ++sources;
  }
  if (const Value* f = r.optional("from")) {
    ObjectReader fr(*f, r.path("from"));
    FromStepSource from;
    from.step = read_string(fr.required("step"), fr.path("step"));
    if (const Value* t = fr.optional("tags")) from.tags = read_tags(*t, fr.path("tags"));
    fr.finish();
    pool.source = std::move(from);
    ++sources;
  }
  if (const Value* a = r.optional("amortized")) {
    pool.source = read_amortized(*a, r.path("amortized"));
    ++sources;
  }
  if (const Value* p = r.optional("parts")) {
    const auto& items = read_array(*p, r.path("parts"));
    if (items.empty()) throw SpecError(r.path("parts"), "must list at least one part");
    PartsSource parts;
    for (std::size_t i = 0; i < items.size(); ++i) parts.parts.push_back(read_pool_part(items[i], path_index(r.path("parts"), i)));
    pool.source = std::move(parts);
    ++sources;
  }
  if (const Value* p = r.optional("period")) pool.period = read_interval(*p, r.path("period"));
  r.finish();
  if (sources != 1)
    throw SpecError(path, sources == 0 ? "needs one of \"cost\", \"price\", \"from\", \"amortized\" or \"parts\""
                                       : "gives more than one of \"cost\", \"price\", \"from\", \"amortized\" and \"parts\"");
  return pool;
}

// Records are many: their readers build a JSON path only when there is an error to name.
// Each fast read below either gives what the plain read_* would, or calls it to throw.

// As read_non_negative(v, path_of(), excess).
template <class PathOf>
Decimal record_amount(const Value& v, PathOf path_of, ExcessDigits excess) {
  if (v.is(Value::Type::number) || v.is(Value::Type::string)) {
    try {
      const Decimal d = Decimal::parse(v.text(), excess);
      if (d.signum() >= 0) return d;
    } catch (const ParseError&) {
    } catch (const OverflowError&) {
    }
  }
  return read_non_negative(v, path_of(), excess);
}

// As read_string(v, path_of()).
template <class PathOf>
std::string record_string(const Value& v, PathOf path_of) {
  if (v.is(Value::Type::string)) return v.text();
  return read_string(v, path_of());
}

// As read_tags(v, path_of()).
template <class PathOf>
Tags record_tags(const Value& v, PathOf path_of) {
  if (!v.is(Value::Type::object)) return read_tags(v, path_of());
  std::vector<Tags::Pair> pairs;
  pairs.reserve(v.members().size());
  for (const auto& [key, value] : v.members()) {
    if (!value.is(Value::Type::string)) return read_tags(v, path_of());
    pairs.emplace_back(key, value.text());
  }
  return Tags(std::move(pairs));
}

template <class PathOf>
Amounts read_measures(const Value& v, PathOf path_of) {
  if (!v.is(Value::Type::object)) throw SpecError(path_of(), "must be an object of names and amounts");
  Amounts out;
  for (const Value::Member& m : v.members())  // not a structured binding: clang < 16 cannot capture one
    out.emplace_hint(out.end(), m.first,
                     record_amount(m.second, [&] { return path_join(path_of(), m.first); }, ExcessDigits::round_half_even));
  return out;
}

Record read_record(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Record rec;
  rec.origin = path;
  const auto at = [&r](std::string_view key) { return [&r, key] { return r.path(key); }; };
  if (const Value* id = r.optional("id")) rec.id = record_string(*id, at("id"));
  rec.tags = record_tags(r.required("tags"), at("tags"));
  if (const Value* p = r.optional("pool")) rec.pool = record_string(*p, at("pool"));
  if (const Value* m = r.optional("measures")) rec.measures = read_measures(*m, at("measures"));
  if (const Value* m = r.optional("reserved")) rec.reserved = read_measures(*m, at("reserved"));
  if (const Value* m = r.optional("used")) rec.used = read_measures(*m, at("used"));
  if (const Value* s = r.optional("start")) rec.start = read_instant(*s, r.path("start"));
  if (const Value* e = r.optional("end")) rec.end = read_instant(*e, r.path("end"));
  if (const Value* c = r.optional("count")) rec.count = read_non_negative(*c, r.path("count"), ExcessDigits::round_half_even);
  if (const Value* s = r.optional("sku")) rec.sku = read_string(*s, r.path("sku"));
  if (const Value* t = r.optional("tier")) rec.tier = read_string(*t, r.path("tier"));
  if (const Value* t = r.optional("at")) rec.at = read_instant(*t, r.path("at"));
  const Value* window = r.optional("window");
  if (window) rec.window = read_interval(*window, r.path("window"));
  r.finish();
  if (rec.start && rec.end && *rec.end < *rec.start)
    throw SpecError(r.path("end"), "is before start (" + rec.end->to_string() + " < " + rec.start->to_string() + ")");
  if (rec.at && (rec.start || rec.end))
    throw SpecError(r.path("at"), "an instant, or an interval with start and end: give one, not both");
  if (window && !(rec.start && rec.end))
    throw SpecError(r.path("window"), "bills part of a run, which needs start and end");
  if (const auto problem = measure_problem(rec.measures)) throw SpecError(path + ".measures." + problem->first, problem->second);
  return rec;
}

// A step's select: each key a value or a list of values a record's tag must hold, or
// {"not": value or list} for values it must not.
void read_select(const Value& v, const std::string& path, Selector& select, Selector& exclude) {
  if (!v.is(Value::Type::object)) throw SpecError(path, "must be an object of tag names and values");
  for (const auto& [key, value] : v.members()) {
    const std::string p = path_join(path, key);
    if (value.is(Value::Type::string)) {
      select[key] = {value.text()};
    } else if (value.is(Value::Type::array)) {
      select[key] = read_string_list(value, p);
    } else if (value.is(Value::Type::object)) {
      ObjectReader r(value, p);
      const Value& values = r.required("not");
      exclude[key] = values.is(Value::Type::string) ? std::vector<std::string>{values.text()}
                                                    : read_string_list(values, r.path("not"));
      r.finish();
    } else {
      throw SpecError(p, "must be a tag value, a list of tag values or {\"not\": ...}");
    }
  }
}

Step read_step(const Value& v, const std::string& path, const StrategyRegistry& registry) {
  ObjectReader r(v, path);
  Step step;
  step.id = read_string(r.required("id"), r.path("id"));
  const std::string name = read_string(r.required("strategy"), r.path("strategy"));
  if (const Value* p = r.optional("pool")) step.pool = read_string(*p, r.path("pool"));
  if (const Value* g = r.optional("group_by")) step.group_by = read_tag_keys(*g, r.path("group_by"));
  if (const Value* s = r.optional("select")) read_select(*s, r.path("select"), step.select, step.exclude);
  if (const Value* p = r.optional("pools")) {  // a fleet: pool ids, or {"tags": {...}}
    if (p->is(Value::Type::object)) {
      ObjectReader pr(*p, r.path("pools"));
      step.pools_tagged = read_tags(pr.required("tags"), pr.path("tags"));
      if (step.pools_tagged->empty()) throw SpecError(pr.path("tags"), "must name at least one tag");
      pr.finish();
    } else {
      step.pools = read_string_list(*p, r.path("pools"));
      if (step.pools.empty()) throw SpecError(r.path("pools"), "must name at least one pool");
    }
  }
  if (const Value* m = r.optional("match")) {
    ObjectReader mr(*m, r.path("match"));
    PoolMatch match{read_string(mr.required("tag"), mr.path("tag")), {}};
    if (match.tag.empty()) throw SpecError(mr.path("tag"), "must not be empty");
    if (const Value* t = mr.optional("pool_tag")) match.pool_tag = read_string(*t, mr.path("pool_tag"));
    mr.finish();
    step.match = std::move(match);
  }
  if (const Value* u = r.optional("unallocated_keys")) {
    const std::string keys = read_string(*u, r.path("unallocated_keys"));
    if (keys != "all" && keys != "missing") throw SpecError(r.path("unallocated_keys"), "must be \"all\" or \"missing\"");
    step.keep_present_keys = keys == "missing";
  }
  if (!registry.contains(name)) {
    std::string known;
    for (const std::string& n : registry.names()) known += (known.empty() ? "" : ", ") + n;
    throw SpecError(r.path("strategy"), "unknown strategy \"" + name + "\" (known: " + known + ")");
  }
  step.strategy = registry.make(name, r);
  r.finish();
  return step;
}

Series read_series(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  Series series;
  series.start = read_instant(r.required("start"), r.path("start"));
  series.end = read_instant(r.required("end"), r.path("end"));
  const std::string step = read_string(r.required("step"), r.path("step"));
  const auto bucket = bucket_step_from(step);
  if (!bucket) throw SpecError(r.path("step"), "must be \"1h\", \"1d\", \"1w\" or \"1mo\" (got \"" + step + "\")");
  series.step = *bucket;
  r.finish();
  if (series.end <= series.start)
    throw SpecError(r.path("end"), "must be after start (" + series.end.to_string() + " <= " + series.start.to_string() + ")");
  for (const auto& [key, t] : {std::pair{"start", series.start}, std::pair{"end", series.end}})
    if (!starts_bucket(t, series.step))
      throw SpecError(r.path(key), "must fall on a boundary of the \"" + step + "\" buckets (" + t.to_string() +
                                       (series.step == BucketStep::week    ? " is not a Monday, 00:00 UTC)"
                                        : series.step == BucketStep::month ? " is not the first of a month, 00:00 UTC)"
                                        : series.step == BucketStep::day   ? " is not a midnight UTC)"
                                                                           : " is not a whole hour)"));
  return series;
}

FxRate read_fx(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  FxRate fx{read_currency(r.required("from"), r.path("from")), read_currency(r.required("to"), r.path("to")),
            read_non_negative(r.required("rate"), r.path("rate")), "", "", r.required("rate").text()};
  if (fx.rate.is_zero()) throw SpecError(r.path("rate"), "must be positive");
  if (const Value* d = r.optional("date")) fx.date = read_string(*d, r.path("date"));
  if (const Value* s = r.optional("source")) fx.source = read_string(*s, r.path("source"));
  r.finish();
  return fx;
}

StatementSpec read_statement(const Value& v, const std::string& path) {
  ObjectReader r(v, path);
  StatementSpec spec;
  spec.id = read_string(r.required("id"), r.path("id"));
  spec.group_by = read_tag_keys(r.required("group_by"), r.path("group_by"));
  if (const Value* s = r.optional("steps")) spec.steps = read_string_list(*s, r.path("steps"));
  r.finish();
  return spec;
}

// `limit`: the most items allowed, named `limit_name` in the error for more.
template <class T, class Read>
std::vector<T> read_list(ObjectReader& r, std::string_view key, Read read, std::size_t limit = static_cast<std::size_t>(-1),
                         std::string_view things = {}, std::string_view limit_name = {}) {
  const std::string path = r.path(key);
  const auto& items = read_array(r.required(key), path);
  if (items.size() > limit) limit_exceeded(path, limit, things, limit_name);
  std::vector<T> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) out.push_back(read(items[i], path_index(path, i)));
  return out;
}


// An input file, opened for its format to read (in blocks, for formats that stream).
std::ifstream open_text_file(const std::filesystem::path& file, const std::string& path) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw SpecError(path, "cannot read \"" + file.string() + "\": " + std::strerror(errno));
  return in;
}

// A stream buffer over a file that counts bytes and line breaks as a parser reads them and
// reports progress now and then. Only used when SpecOptions::progress is set.
class ProgressBuffer : public std::streambuf {
 public:
  ProgressBuffer(std::streambuf& source, InputProgress start, const SpecOptions& options)
      : source_(source), report_(start), options_(options), begun_(std::chrono::steady_clock::now()), next_(begun_) {}
  ~ProgressBuffer() override = default;

  // The exception the callback threw (it cancelled the run), if it did.
  void rethrow_cancel() const {
    if (cancelled_) std::rethrow_exception(cancelled_);
  }

  // The last report, with what the file yielded when it was read whole; none when the
  // callback threw.
  void finish(const IngestResult* got = nullptr) {
    if (cancelled_) return;
    report_.done = true;
    if (got) {
      report_.rows = got->rows;
      report_.records = got->records_read.value_or(got->records.size());
    }
    report_.elapsed = std::chrono::steady_clock::now() - begun_;
    options_.progress(report_);
  }

 protected:
  int_type underflow() override {
    const std::streamsize got = source_.sgetn(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    if (got <= 0) return traits_type::eof();
    report_.bytes += static_cast<std::uint64_t>(got);
    report_.lines += static_cast<std::uint64_t>(std::count(buffer_.data(), buffer_.data() + got, '\n'));
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_) {
      report_.elapsed = now - begun_;
      try {
        options_.progress(report_);
      } catch (...) {
        // Streams swallow what a buffer throws: end the stream here, and let the reader
        // rethrow it once the parser has stopped.
        cancelled_ = std::current_exception();
        return traits_type::eof();
      }
      next_ = now + options_.progress_interval;
    }
    setg(buffer_.data(), buffer_.data(), buffer_.data() + got);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  std::streambuf& source_;
  InputProgress report_;
  const SpecOptions& options_;
  std::chrono::steady_clock::time_point begun_, next_;
  std::array<char, 1 << 16> buffer_{};
  std::exception_ptr cancelled_;
};

// An input's own keys beside its format's options: `as` names it for joins, `join` takes
// tags from an earlier input, `join_only` keeps its records out of `records`.
struct InputLinks {
  struct Join {
    std::string input;
    std::vector<std::string> on;
  };
  std::optional<std::string> name;
  std::optional<Join> join;
  bool join_only = false;
};

InputLinks read_input_links(ObjectReader& input, const std::map<std::string, std::vector<Record>, std::less<>>& tables) {
  InputLinks links;
  if (const Value* v = input.optional("as")) {
    links.name = read_string(*v, input.path("as"));
    if (links.name->empty()) throw SpecError(input.path("as"), "must not be empty");
    if (tables.contains(*links.name))
      throw SpecError(input.path("as"), "input name \"" + *links.name + "\" is used twice");
  }
  if (const Value* v = input.optional("join_only")) {
    links.join_only = ingest::read_flag(*v, input.path("join_only"));
    if (links.join_only && !links.name)
      throw SpecError(input.path("join_only"), "needs \"as\", a name for a later input to join on");
  }
  if (const Value* v = input.optional("join")) {
    const std::string jp = input.path("join");
    ObjectReader join(*v, jp);
    InputLinks::Join j;
    j.input = read_string(join.required("input"), join.path("input"));
    if (!tables.contains(j.input))
      throw SpecError(join.path("input"), "no earlier input is named \"" + j.input + "\"");
    j.on = ingest::read_names(join.required("on"), join.path("on"));
    if (j.on.empty()) throw SpecError(join.path("on"), "must name at least one tag");
    join.finish();
    links.join = std::move(j);
  }
  return links;
}

// The plan of the spec's steps, read ahead of its records (plan.hpp). A spec whose pools or
// steps cannot be read gets no plan: the error is reported where they are read, in order.
RecordPlan plan_of(const Value& spec, const SpecOptions& options) {
  if (!options.plan_records) return {};
  const StrategyRegistry& registry = options.registry ? *options.registry : StrategyRegistry::global();
  try {
    std::vector<Pool> pools;
    std::vector<Step> steps;
    if (const Value* p = spec.find("pools"))
      for (std::size_t i = 0; i < read_array(*p, "pools").size(); ++i)
        pools.push_back(read_pool(p->items()[i], path_index("pools", i)));
    if (const Value* st = spec.find("steps"))
      for (std::size_t i = 0; i < read_array(*st, "steps").size(); ++i)
        steps.push_back(read_step(st->items()[i], path_index("steps", i), registry));
    return plan_records(steps, pools, spec.find("unit_economics") != nullptr);
  } catch (const std::exception&) {
    return {};
  }
}

// Records read through the plan: rows that agree on what the steps read become one
// record; the tags dropped so are kept for hints.
struct PlannedRecords {
  std::vector<Record> records;
  std::set<std::string, std::less<>> dropped_tags;
};

PlannedRecords reduced(std::vector<Record> records, const RecordPlan& plan) {
  if (!plan.reduce) return {std::move(records), {}};
  RecordReducer reducer(plan);
  for (Record& r : records) reducer.add(std::move(r));
  return {reducer.take(), reducer.dropped_tags()};
}

// Moves `from` onto the end of `to`: the whole vector when `to` has none (a million
// records are not moved one by one into a growing vector), else into reserved room.
void append_records(std::vector<Record>& to, std::vector<Record>&& from) {
  if (to.empty()) {
    to = std::move(from);
    return;
  }
  to.reserve(to.size() + from.size());
  for (Record& r : from) to.push_back(std::move(r));
}

void add_dropped_tags(Allocation& a, const std::set<std::string, std::less<>>& tags) {
  for (const std::string& t : tags)
    if (std::find(a.dropped_tags.begin(), a.dropped_tags.end(), t) == a.dropped_tags.end()) a.dropped_tags.push_back(t);
}

// A batch's columns, checked once: their shapes, and what each row is checked by. A tag
// column encoded only when read is encoded here when the plan reads its key (or keeps
// records whole); else it is left out and its key counted among the dropped tags.
class BatchRows {
 public:
  BatchRows(const RecordBatch& batch, std::size_t index, const RecordPlan& plan) : batch_(batch) {
    const std::string path = path_index("batches", index);
    for (std::size_t c = 0; c < batch.tags.size(); ++c) {
      const auto& given = batch.tags[c];
      const std::string where = path + ".tags[" + std::to_string(c) + "]";
      for (std::size_t d = 0; d < c; ++d)
        if (batch.tags[d].key == given.key) throw SpecError(where, "tag \"" + given.key + "\" given twice");
      if (given.encoded && plan.reduce && !plan.keys.contains(given.key)) {
        dropped_.insert(given.key);
        continue;
      }
      const auto& t = given.encoded ? given.encoded() : given;
      if (t.codes.size() != batch.rows)
        throw SpecError(where, "has " + std::to_string(t.codes.size()) + " codes for " + std::to_string(batch.rows) + " rows");
      tags_.push_back(&t);
    }
    for (std::size_t c = 0; c < batch.measures.size(); ++c) {
      const auto& m = batch.measures[c];
      const std::string where = path + ".measures[" + std::to_string(c) + "]";
      if (m.values.size() != batch.rows)
        throw SpecError(where, "has " + std::to_string(m.values.size()) + " values for " + std::to_string(batch.rows) + " rows");
      if (!m.present.empty() && m.present.size() != batch.rows)
        throw SpecError(where, "has " + std::to_string(m.present.size()) + " presence flags for " +
                                   std::to_string(batch.rows) + " rows");
      if (m.scale < 0 || m.scale > Decimal::scale)
        throw SpecError(where, "scale must be 0 to 12 (got " + std::to_string(m.scale) + ")");
      for (std::size_t d = 0; d < c; ++d)
        if (batch.measures[d].name == m.name) throw SpecError(where, "measure \"" + m.name + "\" given twice");
      scale_.push_back(detail::pow10_128(Decimal::scale - m.scale));
      if (m.name == "utilization") utilization_ = c;
      if (m.name == "tokens_cached") cached_ = c;
      if (m.name == "tokens_prompt") prompt_ = c;
    }
  }
  bool has(std::size_t c, std::size_t row) const {
    return batch_.measures[c].present.empty() || batch_.measures[c].present[row] != 0;
  }
  int128 raw(std::size_t c, std::size_t row) const { return static_cast<int128>(batch_.measures[c].values[row]) * scale_[c]; }
  std::string where(std::size_t row) const { return batch_.source + " row " + std::to_string(row); }

  // Checks a row as a record's tags and measures are checked: codes in their dictionaries,
  // no negative measure, a utilization of at most 1, no more cached than prompt tokens.
  void check(std::size_t row) const {
    for (const auto* t : tags_) {
      const std::int32_t code = t->codes[row];
      if (code >= 0 && static_cast<std::size_t>(code) >= t->dictionary.size())
        throw SpecError(where(row), t->key + ": code " + std::to_string(code) + " is not below the dictionary's " +
                                        std::to_string(t->dictionary.size()) + " values");
    }
    for (std::size_t c = 0; c < batch_.measures.size(); ++c)
      if (has(c, row) && batch_.measures[c].values[row] < 0)
        throw SpecError(where(row), batch_.measures[c].name + ": must not be negative (got \"" +
                                        Decimal::from_raw(raw(c, row)).to_string() + "\")");
    Amounts checked;
    for (const auto& c : {utilization_, cached_, prompt_})
      if (c && has(*c, row)) checked.emplace(batch_.measures[*c].name, Decimal::from_raw(raw(*c, row)));
    if (const auto problem = measure_problem(checked)) throw SpecError(where(row), problem->first + ": " + problem->second);
  }

  // The row's tags and measures as views, for the reducer's fast way in.
  void read(std::size_t row, std::vector<std::pair<std::string_view, std::string_view>>& tags,
            std::vector<std::pair<std::string_view, Decimal>>& measures) const {
    tags.clear();
    measures.clear();
    for (const auto* t : tags_)
      if (t->codes[row] >= 0) tags.emplace_back(t->key, t->dictionary[static_cast<std::size_t>(t->codes[row])]);
    for (std::size_t c = 0; c < batch_.measures.size(); ++c)
      if (has(c, row)) measures.emplace_back(batch_.measures[c].name, Decimal::from_raw(raw(c, row)));
  }

  bool has_utilization() const { return utilization_.has_value(); }
  // The tag columns read, in the batch's order.
  const std::vector<const RecordBatch::TagColumn*>& tags() const noexcept { return tags_; }
  const std::set<std::string, std::less<>>& dropped_tags() const noexcept { return dropped_; }

 private:
  const RecordBatch& batch_;
  std::vector<const RecordBatch::TagColumn*> tags_;
  std::set<std::string, std::less<>> dropped_;
  std::vector<int128> scale_;
  std::optional<std::size_t> utilization_, cached_, prompt_;
};

// A batch summed by the codes of the columns the plan keeps, without looking at a string
// per row, each group's sums then added to `reducer` once, named by its first row. False,
// having added nothing, when the plan keeps records whole, reads a utilization (unit
// economics reads it row by row), or a sum would leave the 128-bit range.
bool read_batch_by_codes(const RecordBatch& batch, const BatchRows& rows, const RecordPlan& plan, RecordReducer& reducer) {
  if (!plan.reduce || (rows.has_utilization() && plan.measures.contains("utilization"))) return false;
  std::vector<const RecordBatch::TagColumn*> kept_tags;
  std::vector<std::size_t> kept_measures;
  for (const auto* t : rows.tags())
    if (plan.keys.contains(t->key)) kept_tags.push_back(t);
  for (std::size_t c = 0; c < batch.measures.size(); ++c)
    if (plan.measures.contains(batch.measures[c].name)) kept_measures.push_back(c);
  struct Group {
    std::size_t first_row;
    std::vector<int128> sums;
    std::vector<bool> present;
  };
  std::vector<Group> groups;
  std::unordered_map<std::string, std::size_t> index;
  std::string key;
  for (std::size_t row = 0; row < batch.rows; ++row) {
    rows.check(row);
    key.clear();
    for (const auto* t : kept_tags) key.append(reinterpret_cast<const char*>(&t->codes[row]), sizeof(std::int32_t));
    const auto [it, added] = index.try_emplace(key, groups.size());
    if (added) groups.push_back({row, std::vector<int128>(kept_measures.size()), std::vector<bool>(kept_measures.size())});
    Group& g = groups[it->second];
    for (std::size_t m = 0; m < kept_measures.size(); ++m) {
      if (!rows.has(kept_measures[m], row)) continue;
      if (__builtin_add_overflow(g.sums[m], rows.raw(kept_measures[m], row), &g.sums[m])) return false;
      g.present[m] = true;
    }
  }
  // Each group once, in first-seen order, into a reducer of its own: nothing is added to
  // `reducer` when one cannot be. The group's first row stands for its tags.
  RecordReducer summed(plan);
  const std::optional<std::string_view> pool = batch.pool ? std::optional<std::string_view>(*batch.pool) : std::nullopt;
  std::vector<std::pair<std::string_view, std::string_view>> tags;
  std::vector<std::pair<std::string_view, Decimal>> measures, sums;
  for (const Group& g : groups) {
    rows.read(g.first_row, tags, measures);
    sums.clear();
    for (std::size_t m = 0; m < kept_measures.size(); ++m)
      if (g.present[m]) sums.emplace_back(batch.measures[kept_measures[m]].name, Decimal::from_raw(g.sums[m]));
    if (!summed.add_plain(pool, tags, sums, [&] { return rows.where(g.first_row); })) return false;
  }
  reducer = std::move(summed);
  return true;
}

// The rows of a batch, checked as records are, through the plan: summed by their codes, or
// (the plan keeping records whole, or a sum beyond the range) record by record.
void read_batch(const RecordBatch& batch, std::size_t index, const RecordPlan& plan, Allocation& a) {
  const BatchRows rows(batch, index, plan);
  add_dropped_tags(a, rows.dropped_tags());
  RecordReducer reducer(plan);
  if (!read_batch_by_codes(batch, rows, plan, reducer)) {
    const std::optional<std::string_view> pool = batch.pool ? std::optional<std::string_view>(*batch.pool) : std::nullopt;
    std::vector<std::pair<std::string_view, std::string_view>> tags;
    std::vector<std::pair<std::string_view, Decimal>> measures;
    for (std::size_t row = 0; row < batch.rows; ++row) {
      rows.check(row);
      rows.read(row, tags, measures);
      if (reducer.add_plain(pool, tags, measures, [&] { return rows.where(row); })) continue;
      Record r;
      std::vector<Tags::Pair> pairs;
      for (const auto& [k, v] : tags) pairs.emplace_back(std::string(k), std::string(v));
      r.tags = Tags(std::move(pairs));
      for (const auto& [name, value] : measures) r.measures.emplace(std::string(name), value);
      r.pool = batch.pool;
      r.origin = rows.where(row);
      reducer.add(std::move(r));
    }
  }
  add_dropped_tags(a, reducer.dropped_tags());
  append_records(a.records, reducer.take());
}

// Each input's file is read by its format's parser; what it yields joins the inline
// records, pools and catalog exactly as if written there, read through the plan.
void read_inputs(ObjectReader& spec, Allocation& a, const SpecOptions& options, const RecordPlan& plan) {
  const std::string list_path = spec.path("inputs");
  const auto& inputs = read_array(spec.required("inputs"), list_path);
  const Limits& limits = options.limits;
  if (inputs.size() > limits.max_inputs) limit_exceeded(list_path, limits.max_inputs, "inputs", "max_inputs");
  std::optional<Catalog> merged;
  std::map<std::string, std::vector<Record>, std::less<>> tables;  // records of named inputs, for joins
  // Where each pool was given, so one that two inputs (two exports of a bill) both give is
  // reported at the input, naming the other.
  std::map<std::string, std::string, std::less<>> pool_from;
  for (std::size_t p = 0; p < a.pools.size(); ++p) pool_from.emplace(a.pools[p].id, path_index("pools", p));
  // Under a series, formats that read ranges of samples fill its buckets.
  const std::vector<Interval> buckets = a.series ? buckets_between(a.series->start, a.series->end, a.series->step)
                                                 : std::vector<Interval>{};
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string path = path_index(list_path, i);
    ObjectReader input(inputs[i], path);
    const std::string format = read_string(input.required("format"), input.path("format"));
    // A live input (docs/ingest.md, "Live sources") is named by its address, without credentials.
    const bool live = input.has("url");
    if (live && input.has("path")) throw SpecError(input.path("url"), "give path or url, not both");
    if (live && !options.live_sources)
      throw SpecError(input.path("url"), "live sources are turned off here (by the program running this spec: live_sources); give \"path\"");
    const std::string file = live ? ingest::shown_address(read_string(input.required("url"), input.path("url")))
                                  : read_string(input.required("path"), input.path("path"));
    const InputLinks links = read_input_links(input, tables);
    if (!IngestRegistry::global().contains(format)) {
      std::string known;
      for (const std::string& f : IngestRegistry::global().formats()) known += (known.empty() ? "" : ", ") + f;
      throw SpecError(input.path("format"), "unknown input format \"" + format + "\" (known: " + known + ")");
    }
    if (!live) {
      std::error_code ec;
      const std::uintmax_t bytes = std::filesystem::file_size(options.base_dir / file, ec);
      if (!ec && bytes > limits.max_input_bytes)
        limit_exceeded(input.path("path"), limits.max_input_bytes, "bytes in \"" + file + "\"", "max_input_bytes");
    }
    // A folder (an MLflow file store) is read by the format's folder parser.
    std::error_code folder_error;
    const bool folder = !live && std::filesystem::is_directory(options.base_dir / file, folder_error);
    std::ifstream stream;
    if (!live && !folder) stream = open_text_file(options.base_dir / file, input.path("path"));
    IngestResult got;
    const auto too_many_records = [&] {
      // A csv input can keep one record a group instead of one a row.
      limit_exceeded(path, limits.max_records,
                     format == "csv" ? "records (with those before this input; \"aggregate\": true keeps one per group)"
                                     : "records (with those before this input)",
                     "max_records");
    };
    const ingest::RecordBudget budget(limits.max_records - std::min(limits.max_records, a.records.size()), too_many_records);
    // A format that can sums rows through the plan as it reads; not for joins, which read
    // the tags they join on.
    const ingest::PlanScope planned(links.name || links.join ? nullptr : &plan);
    const ingest::BucketScope bucketed(buckets.empty() ? nullptr : &buckets);
    try {
      if (live) {
        got = IngestRegistry::global().parse_live(format, input, LiveContext{a.series, options.base_dir, limits.max_input_bytes});
      } else if (folder) {
        got = IngestRegistry::global().parse_folder(format, options.base_dir / file, input, file);
      } else if (options.progress) {
        std::error_code ec;
        const std::uintmax_t size = std::filesystem::file_size(options.base_dir / file, ec);
        InputProgress start;
        start.path = file;
        start.total_bytes = ec ? 0 : static_cast<std::uint64_t>(size);
        ProgressBuffer counted(*stream.rdbuf(), start, options);
        std::istream counted_stream(&counted);
        try {
          got = IngestRegistry::global().parse_stream(format, counted_stream, input, file);
        } catch (...) {
          counted.rethrow_cancel();
          counted.finish();  // the display ends its line before the error is told
          throw;
        }
        counted.rethrow_cancel();
        counted.finish(&got);
      } else {
        got = IngestRegistry::global().parse_stream(format, stream, input, file);
      }
    } catch (const SpecError& e) {
      // Option errors already name their JSON path; row errors name the file and line.
      if (e.path().rfind(path, 0) == 0) throw;
      throw SpecError(path, e.what());
    }
    input.finish();
    if (got.records.size() > limits.max_records - std::min(limits.max_records, a.records.size())) too_many_records();
    if (got.pools.size() > limits.max_pools - std::min(limits.max_pools, a.pools.size()))
      limit_exceeded(path, limits.max_pools, "pools (with those before this input)", "max_pools");
    InputSummary summary;
    summary.path = file;
    summary.format = format;
    summary.rows = got.rows;
    summary.records = got.records_read.value_or(got.records.size());
    summary.warnings = got.warnings;
    summary.pools = got.pools.size();
    summary.skipped = got.skipped;
    summary.skipped_reasons = got.skipped_reasons;
    if (links.join) {
      const JoinCounts counts = join_tags(got.records, tables.at(links.join->input), links.join->on, input.path("join"));
      summary.join = links.join->input;
      summary.joined = counts.matched;
      summary.unmatched = counts.unmatched;
      if (counts.matched == 0 && counts.unmatched > 0) {
        std::string on;
        for (const std::string& k : links.join->on) on += (on.empty() ? "" : ", ") + k;
        summary.warnings.push_back(file + ": none of its " + std::to_string(counts.unmatched) + " records matched \"" +
                                   links.join->input + "\" on " + on + ": do both inputs have these tags, spelt so?");
      }
    }
    if (links.name) {
      if (links.join_only && (!got.pools.empty() || got.catalog))
        throw SpecError(input.path("join_only"), "a join_only input may yield only records (" + file + " yields pools or a catalog)");
      tables.emplace(*links.name, links.join_only ? std::move(got.records) : got.records);
      summary.join_only = links.join_only;
      if (links.join_only) got.records.clear();
    }
    // A format that read its rows through the plan gave their sums already.
    PlannedRecords planned_records =
        got.records_read ? PlannedRecords{std::move(got.records), {}} : reduced(std::move(got.records), plan);
    add_dropped_tags(a, planned_records.dropped_tags);
    add_dropped_tags(a, {got.dropped_tags.begin(), got.dropped_tags.end()});
    append_records(a.records, std::move(planned_records.records));
    // Each pool is rounded to the precision on its own: a bill of many sub-cent charges can
    // lose (or gain) a visible amount so. Told, with what to do about it.
    const Decimal unit = a.precision.value_or(a.currency.minor_unit());
    Rational exact = 0, rounded = 0;
    std::size_t priced = 0;
    for (Pool& pool : got.pools) {
      const auto [at, added] = pool_from.emplace(pool.id, path + " (" + file + ")");
      if (!added) throw SpecError(path, file + " gives pool \"" + pool.id + "\", which " + at->second + " gives too");
      if (const auto* c = std::get_if<CostSource>(&pool.source); c && (!pool.currency || *pool.currency == a.currency)) {
        exact += c->cost.to_rational();
        rounded += Decimal::from_rational(c->cost.to_rational(), unit, RoundingMode::half_even).to_rational();
        ++priced;
      }
      a.pools.push_back(std::move(pool));
    }
    if (exact != rounded)
      summary.warnings.push_back(file + ": its " + std::to_string(priced) + " pools total " +
                                 Decimal::from_rational(exact, Decimal::from_raw(1)).to_string() + ", but each rounded to " +
                                 unit.to_string() + " as a step splits it, they total " +
                                 Decimal::from_rational(rounded, Decimal::from_raw(1)).to_string() +
                                 ": give a finer precision, or pool the rows by a coarser column");
    if (got.catalog) {
      summary.skus = got.catalog->skus().size();
      if (!merged) merged = a.catalog ? *a.catalog : Catalog();
      try {
        merged->merge(*got.catalog);
      } catch (const std::invalid_argument& e) {
        throw SpecError(path, e.what());
      }
    }
    a.inputs.push_back(std::move(summary));
  }
  if (merged) a.catalog = std::make_shared<const Catalog>(std::move(*merged));
}

// ---- Long `records` lists, read without a Value tree ---------------------------------
//
// allocation_from_json reads the spec's `records` list straight into Records and every
// other part through Values, then reads the allocation as allocation_from_spec does. A
// record of the common shape (id, tags, pool and measures, all well formed) is read here;
// any other record is read as a Value by read_record. Anything this path does not take as
// it comes (an error of any kind included) sends the whole document down the plain path,
// parse_json then allocation_from_spec, so results and error messages are the same.

// Tags shared by records with equal tags: one buffer each, not one per record.
class TagsInterner {
 public:
  Tags get(std::vector<Tags::Pair>& pairs) {
    key_.clear();
    for (const auto& [k, v] : pairs) {
      const std::uint32_t sizes[2] = {static_cast<std::uint32_t>(k.size()), static_cast<std::uint32_t>(v.size())};
      key_.append(reinterpret_cast<const char*>(sizes), sizeof sizes);
      key_ += k;
      key_ += v;
    }
    if (const auto it = seen_.find(key_); it != seen_.end()) return it->second;
    Tags tags(std::move(pairs));
    if (seen_.size() < 100'000) seen_.emplace(key_, tags);
    return tags;
  }

 private:
  std::unordered_map<std::string, Tags> seen_;
  std::string key_;
};

// A measure's text as a non-negative Decimal (more than 12 digits rounded half-even), or
// none for anything else: the fast readers then leave the record to the full one.
std::optional<Decimal> non_negative_amount(std::string_view text) {
  try {
    const Decimal amount = Decimal::parse(text, ExcessDigits::round_half_even);
    if (amount.signum() >= 0) return amount;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// Reads one record of the common shape into `rec`; false, leaving the reader anywhere in
// the record, for any other record or any doubt.
bool read_plain_record(json_fast::Reader& in, Record& rec, TagsInterner& interner) {
  bool tags = false, id = false, pool = false, measures = false;
  const auto read_tags_object = [&] {
    std::vector<Tags::Pair> pairs;
    const bool read = in.each_member([&](const std::string& key) {
      std::string value;
      if (in.peek() != '"' || !in.string(value)) return false;
      for (const auto& p : pairs)
        if (p.first == key) return false;
      pairs.emplace_back(key, std::move(value));
      return true;
    });
    if (read) rec.tags = interner.get(pairs);
    return read;
  };
  const auto read_measures_object = [&] {
    return in.each_member([&](const std::string& name) {
      std::string_view text;
      std::string quoted;
      if (in.peek() == '"') {
        if (!in.string(quoted)) return false;
        text = quoted;
      } else if (!in.number_text(text)) {
        return false;
      }
      const auto amount = non_negative_amount(text);
      if (!amount || rec.measures.contains(name)) return false;
      rec.measures.emplace_hint(rec.measures.end(), name, *amount);
      return true;
    });
  };
  const bool read = in.each_member([&](const std::string& key) {
    if (key == "tags") return !std::exchange(tags, true) && in.peek() == '{' && read_tags_object();
    if (key == "measures") return !std::exchange(measures, true) && in.peek() == '{' && read_measures_object();
    if (key == "id" || key == "pool") {
      bool& seen = key == "id" ? id : pool;
      std::string value;
      if (std::exchange(seen, true) || in.peek() != '"' || !in.string(value)) return false;
      if (key == "id") rec.id = std::move(value);
      else rec.pool = std::move(value);
      return true;
    }
    return false;
  });
  if (!read) return false;
  if (!tags) return false;
  return !measure_problem(rec.measures);  // read_record reports it
}

// A record of the common shape (tags, measures, pool; no id) read straight into the
// reducer through the plan, without a Record: what read_plain_record then reducer.add would
// do. False, leaving the reader anywhere in the record, for any other record or any doubt.
struct PlainRow {
  std::vector<std::pair<std::string_view, std::string_view>> tags;
  std::vector<std::pair<std::string_view, Decimal>> measures;
  std::string quoted;
};

bool read_reduced_record(json_fast::Reader& in, RecordReducer& reducer, std::size_t index, PlainRow& row) {
  row.tags.clear();
  row.measures.clear();
  bool tags = false, measures = false;
  std::optional<std::string_view> pool;
  const bool read = in.each_plain_member([&](std::string_view key) {
    if (key == "tags") {
      if (std::exchange(tags, true) || in.peek() != '{') return false;
      return in.each_plain_member([&](std::string_view k) {
        std::string_view v;
        if (in.peek() != '"' || !in.plain_string(v)) return false;
        for (const auto& t : row.tags)
          if (t.first == k) return false;
        row.tags.emplace_back(k, v);
        return true;
      });
    }
    if (key == "measures") {
      if (std::exchange(measures, true) || in.peek() != '{') return false;
      return in.each_plain_member([&](std::string_view name) {
        std::string_view text;
        if (in.peek() == '"') {
          if (!in.plain_string(text)) return false;
        } else if (!in.number_text(text)) {
          return false;
        }
        const auto amount = non_negative_amount(text);
        if (!amount) return false;
        for (const auto& m : row.measures)
          if (m.first == name) return false;
        row.measures.emplace_back(name, *amount);
        return true;
      });
    }
    if (key == "pool") {
      std::string_view p;
      if (pool || in.peek() != '"' || !in.plain_string(p)) return false;
      pool = p;
      return true;
    }
    return false;  // an id or a field of a priced run: read whole
  });
  if (!read || !tags) return false;
  // read_record's checks of measures, on the measures as read: left to it.
  const auto measure = [&](std::string_view name) {
    for (const auto& [n, v] : row.measures)
      if (n == name) return v;
    return Decimal{};
  };
  const auto utilization = std::find_if(row.measures.begin(), row.measures.end(), [](const auto& m) { return m.first == "utilization"; });
  if (utilization != row.measures.end() && utilization->second > Decimal(1)) return false;
  if (measure("tokens_cached") > measure("tokens_prompt")) return false;
  return reducer.add_plain(pool, row.tags, row.measures, [&] { return path_index("records", index); });
}

// Hints the kernel to back a large buffer with huge pages: fewer page faults to fill it.
void advise_huge_pages([[maybe_unused]] void* data, [[maybe_unused]] std::size_t bytes) {
#ifdef __linux__
  constexpr std::uintptr_t huge = 2u << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(data) + huge - 1) & ~(huge - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(data) + bytes) & ~(huge - 1);
  if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#endif
}

// A `records` list shorter than this is read on one thread: parts would cost more than
// they save.
constexpr std::size_t parallel_records_bytes = std::size_t{4} << 20;

// Reads records[index], an item of the `records` list, into the reducer when it reduces,
// else into `records`. False to give up; throws what read_record throws.
bool read_record_item(json_fast::Reader& in, std::size_t index, RecordReducer& reducer, std::vector<Record>& records,
                      TagsInterner& interner, PlainRow& row) {
  const bool reducing = reducer.plan().reduce;
  in.skip_space();
  const char* start = in.position();
  if (reducing) {
    if (read_reduced_record(in, reducer, index, row)) return true;
    in.seek(start);
  }
  Record rec;
  if (!read_plain_record(in, rec, interner)) {
    in.seek(start);
    Value v;
    if (!in.value(v, 2)) return false;
    rec = read_record(v, path_index("records", index));
  }
  rec.origin = path_index("records", index);
  if (reducing) reducer.add(std::move(rec));
  else records.push_back(std::move(rec));
  return true;
}

// Reads the items of the `records` list from the reader's position (an item's start) to
// `stop`, the ',' or ']' after the last of them, the first being records[first].
bool read_record_items(json_fast::Reader& in, const char* stop, std::size_t first, RecordReducer& reducer,
                       std::vector<Record>& records) {
  TagsInterner interner;
  PlainRow row;
  for (std::size_t i = first;; ++i) {
    if (!read_record_item(in, i, reducer, records, interner, row)) return false;
    in.skip_space();
    if (in.position() == stop) return true;
    if (in.position() > stop || !in.eat(',')) return false;
  }
}

// The `records` list, from its '[', as skip_list scanned it (`scan`: its end, its items and
// where it may be cut between items). Throws what read_record throws for a record it reads.
// A list longer than `max_records` is skipped unread and `over` set: read_allocation then
// reports the limit where the plain path would. Records summed through the plan are read
// in parts, one per cut, each on a thread of its own, and the parts' sums merged in list
// order: the same records as one pass.
bool read_records_list(json_fast::Reader& in, const json_fast::Reader::ListScan& scan, PlannedRecords& out,
                       std::size_t max_records, bool& over, RecordReducer& reducer) {
  if (scan.items > max_records) {
    over = true;
    return in.skip_list();
  }
  const bool reducing = reducer.plan().reduce;
  if (!reducing) {
    out.records.reserve(scan.items);
    if (scan.items > 10'000) advise_huge_pages(out.records.data(), scan.items * sizeof(Record));
  }
  if (!in.eat('[')) return false;
  in.skip_space();
  if (!in.at_end() && in.peek() == ']') return in.eat(']');
  const char* last = scan.end - 1;  // the list's ']'
  if (!reducing || scan.cuts.empty()) {
    if (!read_record_items(in, last, 0, reducer, out.records) || !in.eat(']')) return false;
    if (reducing) out = {reducer.take(), reducer.dropped_tags()};
    return true;
  }
  // Part k runs from after cut k - 1 (the list's start for the first) to cut k (its end
  // for the last).
  const std::size_t n = scan.cuts.size() + 1;
  const auto read_part = [&](std::size_t k, RecordReducer& part) {
    json_fast::Reader r = in;
    if (k > 0) r.seek(scan.cuts[k - 1].first + 1);
    std::vector<Record> unused;
    return read_record_items(r, k + 1 < n ? scan.cuts[k].first : last, k > 0 ? scan.cuts[k - 1].second : 0, part,
                             unused);
  };
  std::vector<RecordReducer> parts(n, RecordReducer(reducer.plan()));
  std::vector<std::future<bool>> later;
  for (std::size_t k = 1; k < n; ++k) {
    try {
      later.push_back(std::async(std::launch::async, read_part, k, std::ref(parts[k])));
    } catch (const std::system_error&) {  // no thread to be had: read it here
      std::promise<bool> done;
      done.set_value(read_part(k, parts[k]));
      later.push_back(done.get_future());
    }
  }
  bool read = read_part(0, parts[0]);
  for (std::future<bool>& f : later) read = f.get() && read;  // every part joined, even when one gave up
  if (!read) return false;
  for (std::size_t k = 1; k < n; ++k) parts[0].append(std::move(parts[k]));
  in.seek(scan.end);
  out = {parts[0].take(), parts[0].dropped_tags()};
  return true;
}

Allocation read_allocation(const Value& spec, const SpecOptions& options, PlannedRecords* records,
                           bool records_over = false);

}  // namespace

Allocation allocation_from_spec(const Value& spec, const SpecOptions& options) {
  return read_allocation(spec, options, nullptr);
}

Allocation allocation_from_json(std::string_view text, const SpecOptions& options) {
  const Limits& limits = options.limits;
  if (text.size() > limits.max_spec_bytes) limit_exceeded("", limits.max_spec_bytes, "bytes of spec JSON", "max_spec_bytes");
  {
    // The document but its records first, then the records through the plan its steps make.
    json_fast::Reader in(text, limits.max_depth, limits.max_string_bytes);
    PlannedRecords records;
    bool records_over = false;
    Value spec;
    bool taken = false;
    const char* records_at = nullptr;
    json_fast::Reader::ListScan scan;
    try {
      taken = in.read(spec, "records", [&](json_fast::Reader& r) {
        records_at = r.position();
        // Where a long list may be cut into parts, one per thread: at even shares of the
        // text from the list on, which the list nearly always is.
        std::vector<const char*> cut_from;
        const std::size_t threads = ingest::reading_threads(), rest = text.size() - (records_at - text.data());
        if (threads > 1 && rest >= parallel_records_bytes)
          for (std::size_t k = 1; k < threads; ++k) cut_from.push_back(records_at + rest / threads * k);
        return r.skip_list(&scan, cut_from);
      });
      if (taken && records_at) {
        RecordReducer reducer(plan_of(spec, options));
        json_fast::Reader list(text, limits.max_depth, limits.max_string_bytes);
        list.seek(records_at);
        taken = read_records_list(list, scan, records, limits.max_records, records_over, reducer);
      }
    } catch (const std::exception&) {
      taken = false;  // the plain path below gives the error, or finds the error it gives first
    }
    // The records were read as the plain path reads them, so what the rest of the document
    // holds (inputs read once, errors, a progress callback's exception) is the same either way.
    if (taken && records_at) return read_allocation(spec, options, &records, records_over);
  }
  return allocation_from_spec(parse_json(text, limits), options);
}

namespace {

// `records`: the list read from the spec's `records` member by allocation_from_json, or
// null to read them from `spec`.
Allocation read_allocation(const Value& spec, const SpecOptions& options, PlannedRecords* records,
                           bool records_over) {
  const Limits& limits = options.limits;
  const StrategyRegistry& registry = options.registry ? *options.registry : StrategyRegistry::global();
  ObjectReader r(spec, "");
  const Value& version = r.required("apportion");
  if (!version.is(Value::Type::number) || version.text() != "1")
    throw SpecError("apportion", "must be 1 (the spec version this library reads)");
  Allocation a;
  if (const Value* c = r.optional("currency")) a.currency = read_currency(*c, "currency");
  if (const Value* p = r.optional("precision")) {
    const Decimal precision = read_decimal(*p, "precision");
    if (!precision.is_power_of_ten())
      throw SpecError("precision", "must be a power of ten such as \"0.01\" (got \"" + p->text() + "\")");
    a.precision = precision;
  }
  if (const Value* c = r.optional("catalog")) {
    if (c->is(Value::Type::string)) {
      if (c->text() != "builtin") throw SpecError("catalog", "must be a catalog object or \"builtin\"");
      a.catalog = std::shared_ptr<const Catalog>(&Catalog::builtin(), [](const Catalog*) {});
    } else {
      a.catalog = std::make_shared<const Catalog>(catalog_from_value(*c, "catalog"));
    }
  }
  a.limits = limits;
  if (const Value* s = r.optional("series")) a.series = read_series(*s, "series");
  a.pools = read_list<Pool>(r, "pools", read_pool, limits.max_pools, "pools", "max_pools");
  const RecordPlan plan = plan_of(spec, options);
  PlannedRecords inline_records =
      records ? std::move(*records)
              : PlannedRecords{};
  if (records) {
    read_array(r.required("records"), "records");
    if (records_over || inline_records.records.size() > limits.max_records)
      limit_exceeded("records", limits.max_records, "records", "max_records");
  } else {
    inline_records = reduced(read_list<Record>(r, "records", read_record, limits.max_records, "records", "max_records"), plan);
  }
  a.records = std::move(inline_records.records);
  add_dropped_tags(a, inline_records.dropped_tags);
  // Rows kept whole count before they are read; rows the plan sums count as the records
  // they become.
  std::size_t batch_rows = 0;
  for (const RecordBatch& b : options.batches) batch_rows += b.rows;
  const auto too_many = [&](std::size_t more) { return more > limits.max_records - std::min(limits.max_records, a.records.size()); };
  if (!plan.reduce && too_many(batch_rows))
    limit_exceeded("batches", limits.max_records, "records (with the spec's own)", "max_records");
  const std::size_t before_batches = a.records.size();
  for (std::size_t b = 0; b < options.batches.size(); ++b) read_batch(options.batches[b], b, plan, a);
  if (a.records.size() > limits.max_records && a.records.size() > before_batches)
    limit_exceeded("batches", limits.max_records, "records (with the spec's own)", "max_records");
  a.steps = read_list<Step>(
      r, "steps", [&](const Value& v, const std::string& p) { return read_step(v, p, registry); }, limits.max_steps,
      "steps", "max_steps");
  if (r.has("fx")) a.fx = read_list<FxRate>(r, "fx", read_fx);
  if (r.has("inputs")) read_inputs(r, a, options, plan);
  if (r.has("statements")) a.statements = read_list<StatementSpec>(r, "statements", read_statement);
  a.governance = read_governance(r);
  r.finish();
  std::map<std::string_view, std::size_t> ids;  // id -> the record that has it first
  for (std::size_t i = 0; i < a.records.size(); ++i)
    if (!a.records[i].id.empty()) {
      const auto [first, added] = ids.emplace(a.records[i].id, i);
      if (added) continue;
      const std::string& origin = a.records[i].origin;  // records[3], or a file and line
      throw SpecError(origin + (origin.starts_with("records[") ? ".id" : ""),
                      "record id \"" + a.records[i].id + "\" is used twice (first by " + a.records[first->second].origin + ")");
    }
  return a;
}

}  // namespace

nlohmann::ordered_json tags_json(const Tags& tags) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j;
}

namespace {

// The `lines` list as the document's dump(2) writes it, line by line without a JSON tree:
// a result may hold millions of lines.
void put_lines_json(text::Buffer& out, const Result& result) {
  out.push_back('[');
  const Decimal unit = result.precision;
  const int places = unit.fractional_digits();
  const auto key = [&](std::string_view name) {
    text::put(out, ",\n      \"");
    text::put(out, name);
    text::put(out, "\": ");
  };
  const auto member = [&](std::string_view name, std::string_view value) {
    key(name);
    text::put_json_string(out, value);
  };
  // Numbers are strings in the document: each written between quotes, straight into it.
  const auto rounded = [&](std::string_view name, const Rational& value, bool trim) {
    key(name);
    out.push_back('"');
    text::put_rounded(out, value, 6, trim);
    out.push_back('"');
  };
  const auto amount = [&](std::string_view name, const Decimal& value) {
    key(name);
    out.push_back('"');
    text::put_amount(out, value, unit, places);
    out.push_back('"');
  };
  for (std::size_t i = 0; i < result.lines.size(); ++i) {
    const Line& l = result.lines[i];
    text::put(out, i == 0 ? "\n    {\n      \"step\": " : ",\n    {\n      \"step\": ");
    text::put_json_string(out, l.step);
    if (l.pool) member("pool", *l.pool);
    if (l.bucket) {
      text::put(out, ",\n      \"bucket\": {\n        \"start\": \"");
      text::put_instant(out, l.bucket->start());
      text::put(out, "\",\n        \"end\": \"");
      text::put_instant(out, l.bucket->end());
      text::put(out, "\"\n      }");
    }
    member("kind", to_string(l.kind));
    text::put(out, ",\n      \"tags\": {");
    bool first = true;
    for (const auto& [k, v] : l.tags) {
      text::put(out, first ? "\n        " : ",\n        ");
      first = false;
      text::put_json_string(out, k);
      text::put(out, ": ");
      text::put_json_string(out, v);
    }
    text::put(out, first ? "}" : "\n      }");
    amount("cost", l.cost);
    if (l.weight) rounded("weight", *l.weight, true);
    if (l.share) rounded("share", *l.share, false);
    if (l.split_cost) amount("split_cost", Decimal::from_rational(*l.split_cost, unit));
    if (l.unused_cost) amount("unused_cost", Decimal::from_rational(*l.unused_cost, unit));
    if (l.gpu_hours) rounded("gpu_hours", *l.gpu_hours, false);
    text::put(out, "\n    }");
  }
  text::put(out, result.lines.empty() ? "]" : "\n  ]");
}

}  // namespace

namespace {
nlohmann::ordered_json bucket_json(const Interval& bucket) {
  return {{"start", bucket.start().to_string()}, {"end", bucket.end().to_string()}};
}
}  // namespace

std::string result_to_json(const Result& result) {
  using json = nlohmann::ordered_json;
  const Decimal unit = result.precision;
  json doc;
  doc["apportion"] = 1;
  doc["currency"] = std::string(result.currency.code());
  doc["precision"] = unit.to_string();
  doc["pools"] = json::array();
  for (const PoolCost& p : result.pools) doc["pools"].push_back({{"id", p.id}, {"cost", format_amount(p.cost, unit)}});
  if (!result.series.empty()) {
    doc["series"] = json::array();
    for (const BucketPools& b : result.series) {
      json pools = json::array();
      for (const PoolCost& p : b.pools) pools.push_back({{"id", p.id}, {"cost", format_amount(p.cost, unit)}});
      doc["series"].push_back({{"start", b.bucket.start().to_string()}, {"end", b.bucket.end().to_string()}, {"pools", std::move(pools)}});
    }
  }
  doc["lines"] = json::array();  // written below, without a tree
  doc["unit_costs"] = json::array();
  for (const UnitCost& u : result.unit_costs) {
    json rates = json::object();
    for (const auto& [name, rate] : u.per_million) rates[name] = format_amount(rate, u.unit_precision);
    json j{{"step", u.step}};
    if (u.bucket) j["bucket"] = bucket_json(*u.bucket);
    j["tags"] = tags_json(u.tags);
    j["per_million"] = std::move(rates);
    doc["unit_costs"].push_back(std::move(j));
  }
  doc["coverage"] = json::array();
  for (const Coverage& c : result.coverage) {
    json j{{"step", c.step}};
    if (c.bucket) j["bucket"] = bucket_json(*c.bucket);
    j["ratio"] = format_places(c.ratio, 6);
    doc["coverage"].push_back(std::move(j));
  }
  if (!result.fx_used.empty()) {
    doc["fx"] = json::array();
    for (const FxRate& fx : result.fx_used) {
      json j{{"from", std::string(fx.from.code())}, {"to", std::string(fx.to.code())}, {"rate", fx.rate_text.empty() ? fx.rate.to_string() : fx.rate_text}};
      if (!fx.date.empty()) j["date"] = fx.date;
      if (!fx.source.empty()) j["source"] = fx.source;
      doc["fx"].push_back(std::move(j));
    }
  }
  if (!result.inputs.empty()) {
    doc["inputs"] = json::array();
    for (const InputSummary& in : result.inputs) {
      json j{{"path", in.path},       {"format", in.format}, {"rows", in.rows},      {"records", in.records},
             {"pools", in.pools},     {"skus", in.skus},     {"skipped", in.skipped}};
      if (!in.skipped_reasons.empty()) j["skipped_reasons"] = in.skipped_reasons;
      if (!in.warnings.empty()) j["warnings"] = in.warnings;
      if (in.join) {
        j["join"] = *in.join;
        j["joined"] = in.joined;
        j["unmatched"] = in.unmatched;
      }
      if (in.join_only) j["join_only"] = true;
      doc["inputs"].push_back(std::move(j));
    }
  }
  if (!result.warnings.empty()) doc["warnings"] = result.warnings;
  if (!result.statements.empty()) {
    doc["statements"] = json::array();
    for (const Statement& st : result.statements) {
      json rows = json::array();
      for (const StatementRow& row : st.rows) {
        json tags = json::object();  // in group_by order
        for (const std::string& k : st.group_by) tags[k] = std::string(*row.tags.get(k));
        // What a cost is made of, by kind, leaving out kinds of none.
        const auto made_of = [&](const std::array<Decimal, 4>& amounts) {
          json j = json::object();
          for (std::size_t k = 0; k < amounts.size(); ++k)
            if (!amounts[k].is_zero()) j[std::string(to_string(static_cast<LineKind>(k)))] = format_amount(amounts[k], unit);
          return j;
        };
        json parts = json::array();
        for (const StatementPart& part : row.parts) {
          json p = {{"step", part.step ? json(*part.step) : json(nullptr)}, {"pool", part.pool}};
          if (part.bucket) p["bucket"] = bucket_json(*part.bucket);
          p["kind"] = std::string(to_string(part.kind));
          p["tags"] = tags_json(part.tags);
          p["cost"] = format_amount(part.cost, unit);
          // Only a line that took in overhead or idle is made of more than its own kind.
          if (part.made_of[static_cast<std::size_t>(part.kind)] != part.cost) p["made_of"] = made_of(part.made_of);
          parts.push_back(std::move(p));
        }
        json j{{"tags", std::move(tags)}, {"cost", format_amount(row.cost, unit)}, {"made_of", made_of(row.made_of)}};
        if (!result.series.empty()) {
          j["buckets"] = json::array();
          for (std::size_t b = 0; b < result.series.size(); ++b)
            j["buckets"].push_back({{"start", result.series[b].bucket.start().to_string()},
                                    {"end", result.series[b].bucket.end().to_string()},
                                    {"cost", format_amount(b < row.buckets.size() ? row.buckets[b] : Decimal{}, unit)}});
        }
        j["parts"] = std::move(parts);
        rows.push_back(std::move(j));
      }
      doc["statements"].push_back(
          {{"id", st.id}, {"group_by", st.group_by}, {"total", format_amount(st.total, unit)}, {"rows", std::move(rows)}});
    }
  }
  if (result.governance) write_governance(*result.governance, unit, doc);
  std::string text = doc.dump(2) + "\n";
  // The top-level placeholder: inside a string a line break is escaped, so this is it.
  static constexpr std::string_view placeholder = "\n  \"lines\": []";
  const std::size_t at = text.find(placeholder);
  if (at == std::string::npos) throw std::logic_error("result_to_json: no lines placeholder");
  // The lines written in place, not built apart and copied in: they may be most of the text.
  text::Buffer out;
  // More than a line's text mostly takes: pages never written cost nothing, a regrowth
  // copies everything.
  const std::size_t per_line = result.series.empty() ? 320 : 430;  // a bucket is two instants more
  out.reserve(text.size() + per_line * result.lines.size());
  text::put(out, std::string_view(text).substr(0, at + placeholder.size() - 2));
  put_lines_json(out, result);
  text::put(out, std::string_view(text).substr(at + placeholder.size()));
  return out;
}

std::string run_spec(std::string_view spec_json, const SpecOptions& options) {
  return result_to_json(run(allocation_from_json(spec_json, options)));
}

APPORTION_END_NAMESPACE
