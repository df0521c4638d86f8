// The prometheus-text and prometheus-json ingest formats (one record per series) and dcgm
// (GPU-seconds per pod and GPU from the NVIDIA DCGM exporter).

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apportion/allocate.hpp"
#include "formats.hpp"
#include "mig_models.hpp"
#include "prometheus.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

namespace {

using prometheus::Exposition;
using prometheus::Sample;
using prometheus::Series;

struct SeriesOptions {
  std::string measure = "value";
  std::set<std::string, std::less<>> metrics;  // empty: every metric
  std::optional<std::set<std::string, std::less<>>> labels;
  std::optional<std::string> pool;
};

SeriesOptions read_series_options(ObjectReader& options) {
  SeriesOptions o;
  if (const Value* v = options.optional("measure")) {
    o.measure = read_string(*v, options.path("measure"));
    if (o.measure.empty()) throw SpecError(options.path("measure"), "must not be empty");
  }
  if (const Value* v = options.optional("metric"))
    for (std::string& n : read_names(*v, options.path("metric"))) o.metrics.insert(std::move(n));
  if (const Value* v = options.optional("labels")) {
    o.labels.emplace();
    for (std::string& n : read_names(*v, options.path("labels"))) o.labels->insert(std::move(n));
  }
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  return o;
}

bool wanted(const SeriesOptions& o, const std::string& family, const Series& s) {
  return o.metrics.empty() || o.metrics.contains(s.name) || o.metrics.contains(family);
}

// The record of a series, without measures.
Record series_record(const SeriesOptions& o, const Series& s) {
  std::vector<Tags::Pair> pairs;
  for (const auto& [k, v] : s.labels) {
    if (v.empty() || (o.labels && !o.labels->contains(k))) continue;  // empty is absent, as in Prometheus
    if (k == "metric") throw ParseError("label \"metric\" clashes with the tag that holds the metric name");
    pairs.emplace_back(k, v);
  }
  if (!s.name.empty()) pairs.emplace_back("metric", s.name);
  Record r;
  r.tags = Tags(std::move(pairs));
  r.pool = o.pool;
  r.origin = s.where;
  return r;
}

prometheus::ErrorHandler handler(const RowErrors& rows, IngestResult& result) {
  return [&rows, &result](const std::string& where, const std::string& what) { rows.skip(result, where, what); };
}

void add_record(IngestResult& result, const RowErrors& rows, const SeriesOptions& o, const Series& s, Decimal value,
                const Interval* bucket = nullptr) {
  try {
    Record r = series_record(o, s);
    r.measures[o.measure] = value;
    if (bucket) r.start = bucket->start(), r.end = bucket->end();
    result.records.push_back(std::move(r));
  } catch (const ParseError& e) {
    rows.skip(result, s.where, e.what());
  }
}

IngestResult parse_prometheus_text(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const SeriesOptions o = read_series_options(options);
  options.finish();  // a misspelt option is reported before any row is read
  IngestResult result;
  const Exposition exposition = prometheus::parse_text(text, source, handler(rows, result));
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) {
      ++result.rows;
      if (!wanted(o, family.name, s)) continue;
      const auto samples = prometheus::usable_samples(s, handler(rows, result));
      if (!samples.empty()) add_record(result, rows, o, s, samples.back()->value);
    }
  return result;
}

enum class Aggregate { last, sum, integrate };

// Σ value_i × (t_{i+1} − t_i) in seconds over consecutive samples whose gap is at most
// max_gap; exact, rounded half-even to 12 fractional digits at the end.
Decimal integrate(const std::vector<const Sample*>& samples, const Rational& max_gap) {
  Rational total = 0;
  for (std::size_t i = 0; i + 1 < samples.size(); ++i)
    total += samples[i]->value.to_rational() * prometheus::held_seconds(samples, i, max_gap);
  return Decimal::from_rational(total, Decimal::from_raw(1));
}

struct JsonOptions {
  SeriesOptions series;
  Aggregate aggregate = Aggregate::last;
  std::optional<Rational> max_gap;
};

JsonOptions read_json_options(ObjectReader& options) {
  JsonOptions o;
  o.series = read_series_options(options);
  if (const Value* v = options.optional("aggregate")) {
    const std::string a = read_string(*v, options.path("aggregate"));
    if (a == "last") o.aggregate = Aggregate::last;
    else if (a == "sum") o.aggregate = Aggregate::sum;
    else if (a == "integrate") o.aggregate = Aggregate::integrate;
    else throw SpecError(options.path("aggregate"), "must be \"last\", \"sum\" or \"integrate\" (got \"" + a + "\")");
  }
  if (const Value* v = options.optional("max_gap")) o.max_gap = read_seconds(*v, options.path("max_gap")).to_rational();
  // A misspelt option is reported first: it may be the cause of the checks below.
  options.finish();
  if (o.max_gap && o.aggregate != Aggregate::integrate)
    throw SpecError(options.path("max_gap"), "applies only to \"aggregate\": \"integrate\"");
  if (o.aggregate == Aggregate::integrate && !o.max_gap)
    throw SpecError(options.path("max_gap"),
                    "is required with \"aggregate\": \"integrate\" (seconds between samples beyond which a gap counts "
                    "as no data)");
  return o;
}

// Reads prometheus-json series one at a time, each into its record (or, under a series,
// its records) as it comes.
class JsonReader {
 public:
  JsonReader(const JsonOptions& o, const RowErrors& rows, const std::string& source, const std::string& aggregate_path)
      : o_(o), rows_(rows), source_(source), aggregate_path_(aggregate_path), gaps_(o.max_gap.value_or(0)) {}

  prometheus::ErrorHandler parse_errors() { return handler(rows_, result_); }
  void hold() { rows_.hold(); }

  void add(const std::string& family, const Series& s) {
    ++result_.rows;
    if (!wanted(o_.series, family, s)) return;
    const auto samples = prometheus::usable_samples(s, handler(rows_, result_));
    if (samples.empty()) return;
    Decimal value;
    try {
      switch (o_.aggregate) {
        case Aggregate::last: value = samples.back()->value; break;
        case Aggregate::sum:
          for (const Sample* p : samples) value += p->value;
          break;
        case Aggregate::integrate:
          gaps_.add(samples);
          if (const auto* buckets = ingest::current_buckets()) {
            // Under a series: each sample's interval into the buckets it overlaps.
            std::vector<Rational> per(buckets->size());
            for (std::size_t i = 0; i + 1 < samples.size(); ++i) {
              if (prometheus::held_seconds(samples, i, *o_.max_gap) == 0) continue;
              const Rational v = samples[i]->value.to_rational();
              for_each_overlap(*buckets, Interval(*samples[i]->timestamp, *samples[i + 1]->timestamp),
                               [&](std::size_t b, std::int64_t ns) { per[b] += v * Rational(BigInt(ns), BigInt(1'000'000'000)); });
            }
            for (std::size_t b = 0; b < per.size(); ++b)
              if (per[b] != 0)
                add_record(result_, rows_, o_.series, s, Decimal::from_rational(per[b], Decimal::from_raw(1)), &(*buckets)[b]);
            return;
          }
          value = integrate(samples, *o_.max_gap);
          break;
      }
    } catch (const OverflowError& e) {
      rows_.skip(result_, s.where, e.what());
      return;
    }
    add_record(result_, rows_, o_.series, s, value);
  }

  IngestResult finish(const Exposition& head, const prometheus::ToldErrors& told) {
    rows_.tell(result_, told);
    result_.warnings = head.warnings;
    check_type(head);
    rows_.release(result_);
    if (const auto warning = gaps_.warning(source_)) result_.warnings.push_back(*warning);
    return std::move(result_);
  }

  void check_type(const Exposition& head) const {
    if (o_.aggregate == Aggregate::integrate && head.result_type != "matrix")
      throw SpecError(aggregate_path_,
                      "\"integrate\" needs a range query (resultType matrix), got \"" + head.result_type + "\"");
  }

 private:
  const JsonOptions& o_;
  RowErrors rows_;
  const std::string& source_;
  const std::string& aggregate_path_;
  prometheus::GapCheck gaps_;
  IngestResult result_;
};

IngestResult read_json_text(std::string_view text, const JsonOptions& o, const RowErrors& rows, const std::string& source,
                            const std::string& aggregate_path) {
  JsonReader reader(o, rows, source, aggregate_path);
  const Exposition exposition = prometheus::parse_api_json(text, source, reader.parse_errors());
  reader.check_type(exposition);
  for (const Series* s : prometheus::answer_order(exposition)) reader.add(s->name, *s);
  return reader.finish(exposition, {});
}

IngestResult parse_prometheus_json(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const JsonOptions o = read_json_options(options);
  return read_json_text(text, o, rows, source, options.path("aggregate"));
}

// A range answer read a series at a time (a live month is never held whole), with the same
// records and errors as read whole.
IngestResult parse_prometheus_json_stream(std::istream& in, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const JsonOptions o = read_json_options(options);
  const std::string aggregate_path = options.path("aggregate");
  return prometheus::stream_or_whole(
      in,
      [&](std::istream& answer) -> std::optional<IngestResult> {
        JsonReader reader(o, rows, source, aggregate_path);
        reader.hold();
        // A series' family is its __name__ (parse_api_json groups them so).
        return prometheus::read_series(
            answer, source, [&](const Series& s) { reader.add(s.name, s); },
            [&](const Exposition& head, const prometheus::ToldErrors& told) { return reader.finish(head, told); });
      },
      [&](std::string_view text) { return read_json_text(text, o, rows, source, aggregate_path); });
}

// ---- dcgm ------------------------------------------------------------------------------

enum class Scale { percent, ratio };

std::string scale_text(Scale s) { return s == Scale::percent ? "a percentage (0 to 100)" : "a ratio (0 to 1)"; }

// The utilisation fields whose scale is known, so that none is guessed. dcgm-exporter's
// etc/default-counters.csv gives the DEV_*_UTIL fields "in %"; DCGM's dcgmlib/dcgm_fields.h
// defines every PROF_*_ACTIVE field and SM_OCCUPANCY as a ratio (of time, cycles or warps).
// Other fields (PROF_PCIE_TX_BYTES is bytes per second) are no utilisation.
constexpr std::pair<std::string_view, Scale> known_scales[] = {
    {"DCGM_FI_DEV_GPU_UTIL", Scale::percent},
    {"DCGM_FI_DEV_MEM_COPY_UTIL", Scale::percent},
    {"DCGM_FI_DEV_ENC_UTIL", Scale::percent},
    {"DCGM_FI_DEV_DEC_UTIL", Scale::percent},
    {"DCGM_FI_PROF_GR_ENGINE_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_SM_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_SM_OCCUPANCY", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_DRAM_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_FP64_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_FP32_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_FP16_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_IMMA_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_HMMA_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_TENSOR_DFMA_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_PIPE_INT_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC0_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC1_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC2_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC3_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC4_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC5_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC6_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVDEC7_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG0_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG1_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG2_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG3_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG4_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG5_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG6_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVJPG7_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVOFA0_ACTIVE", Scale::ratio},
    {"DCGM_FI_PROF_NVOFA1_ACTIVE", Scale::ratio},
};

std::optional<Scale> known_scale(std::string_view metric) {
  for (const auto& [name, scale] : known_scales)
    if (name == metric) return scale;
  return std::nullopt;
}

struct DcgmOptions {
  std::string metric = "DCGM_FI_PROF_GR_ENGINE_ACTIVE";
  Scale scale = Scale::ratio;
  std::optional<std::string> pool;
  std::optional<Rational> interval, max_gap;
  std::optional<Rational> mig_slices;  // for a MIG model mig_models does not know
};

DcgmOptions read_dcgm_options(ObjectReader& options) {
  DcgmOptions o;
  if (const Value* v = options.optional("metric")) o.metric = read_string(*v, options.path("metric"));
  std::optional<Scale> scale;
  if (const Value* v = options.optional("scale")) {
    const std::string s = read_string(*v, options.path("scale"));
    if (s == "percent") scale = Scale::percent;
    else if (s == "ratio") scale = Scale::ratio;
    else throw SpecError(options.path("scale"), "must be \"percent\" (0 to 100) or \"ratio\" (0 to 1) (got \"" + s + "\")");
  }
  if (const Value* v = options.optional("pool")) o.pool = read_string(*v, options.path("pool"));
  if (const Value* v = options.optional("interval")) o.interval = read_seconds(*v, options.path("interval")).to_rational();
  if (const Value* v = options.optional("max_gap")) o.max_gap = read_seconds(*v, options.path("max_gap")).to_rational();
  if (const Value* v = options.optional("mig_slices")) o.mig_slices = read_positive_whole(*v, options.path("mig_slices"));
  // A misspelt option (`scael`) is reported first: it may be the cause of the checks below.
  options.finish();
  const std::optional<Scale> known = known_scale(o.metric);
  if (known && scale && *known != *scale)
    throw SpecError(options.path("scale"), o.metric + " is " + scale_text(*known) + ", not " + scale_text(*scale));
  if (!known && !scale)
    throw SpecError(options.path("metric"), "the scale of " + o.metric +
                                                " is not known: give scale \"percent\" (0 to 100) or \"ratio\" (0 to 1) "
                                                "if it is a utilisation");
  o.scale = known ? *known : *scale;
  return o;
}

// The share of a physical GPU a series stands for: 1, or N / the model's slices for a MIG
// instance with profile `Ng.XXgb`.
Rational gpu_fraction(const Tags& labels, const DcgmOptions& o) {
  const auto profile = labels.get("GPU_I_PROFILE");
  if (!profile || profile->empty()) return Rational(1);
  const std::optional<Rational> slices = prometheus::mig_profile_slices(*profile, '.');
  if (!slices) throw ParseError("unknown MIG profile \"" + std::string(*profile) + "\" (expected Ng.XXgb)");
  const std::string model(labels.get("modelName").value_or(""));
  const std::optional<int> known = mig_slices_of_model(model);
  if (!known && !o.mig_slices)
    throw ParseError("MIG slices of GPU model \"" + model + "\" are not known: give mig_slices, the slices in a whole GPU");
  const Rational total = known ? Rational(*known) : *o.mig_slices;
  if (*slices > total)
    throw ParseError("MIG profile \"" + std::string(*profile) + "\" has more slices than a " + model + " (" +
                     boost::multiprecision::numerator(total).str() + ")");
  return *slices / total;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// A GPU (UUID) that some DCGM series of the file shows.
struct Card {
  std::string uuid, model;
  std::string where;  // first seen
  std::vector<std::pair<std::string, std::string>> instances;  // MIG: (GPU_I_ID, where first seen), in file order
  std::set<std::string> utilisation_metrics;                   // others of a known scale it has series of
};

// Why a card without a series of `metric` for the whole GPU (`missing` empty) or for the MIG
// instances `missing` is refused, and which metric to read instead.
std::string unseen(const Card& card, const std::vector<std::string>& missing, const std::string& metric) {
  const std::string gpu = "GPU " + card.uuid + (card.model.empty() ? "" : " (" + card.model + ")");
  const bool many = missing.size() > 1;
  if (!missing.empty()) {
    const std::string what = gpu + ": MIG instance" + (many ? "s " : " ") + joined(missing) + (many ? " have" : " has") +
                             " no " + metric + " series, so " + (many ? "their" : "its") + " time would go unseen; ";
    if (metric == "DCGM_FI_PROF_GR_ENGINE_ACTIVE")
      return what + "check that dcgm-exporter collects DCGM_FI_PROF_GR_ENGINE_ACTIVE (a profiling metric) for every instance";
    return what + "set metric to DCGM_FI_PROF_GR_ENGINE_ACTIVE, which dcgm-exporter writes for MIG instances";
  }
  const std::vector<std::string> others(card.utilisation_metrics.begin(), card.utilisation_metrics.end());
  return gpu + " has no " + metric + " series, so its time would go unseen; " +
         (others.empty() ? "check that dcgm-exporter collects " + metric + " for it"
                         : "set metric to " + std::string(others.size() > 1 ? "one of " : "") + joined(others) +
                               ", which the file has for it") +
         (metric.starts_with("DCGM_FI_PROF_") ? " (profiling metrics need a Volta or newer GPU and DCGM's profiling module)"
                                              : "");
}

struct DcgmRecord {
  Tags tags;
  std::string origin;
  std::string card;  // the physical GPU (UUID): its records are rounded together
  std::string slice;  // "UUID/GPU_I_ID": the GPU or MIG instance it holds
  bool allocated = false;
  std::optional<std::size_t> bucket;  // under a series: the bucket it is of
  Rational fraction;  // of the physical GPU
  Rational utilization_sum = 0;
  std::size_t samples = 0;
  // Ticks (nanoseconds, or intervals of a scrape) held, by how many records held them together.
  std::map<std::size_t, int128> ticks_by_sharers;
};

// A stretch of ticks [start, end) a series holds its GPU (or MIG instance) for.
struct Run {
  std::int64_t start, end;
  std::size_t record;
};

// Splits the ticks of one GPU or MIG instance among the records whose runs hold them: each
// stretch evenly among the allocated records holding it, or, when none does, among the idle
// ones; a stretch nobody holds is not observed and goes to nobody.
void share_ticks(const std::vector<Run>& runs, std::vector<DcgmRecord>& records) {
  struct Event {
    std::int64_t at;
    std::size_t record;
    int delta;
  };
  std::vector<Event> events;
  events.reserve(2 * runs.size());
  for (const Run& r : runs) {
    events.push_back({r.start, r.record, 1});
    events.push_back({r.end, r.record, -1});
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
  std::map<std::size_t, int> holding;  // record -> its runs holding the GPU now
  std::vector<std::size_t> holders;
  for (std::size_t e = 0; e < events.size();) {
    const std::int64_t at = events[e].at;
    for (; e < events.size() && events[e].at == at; ++e)
      if ((holding[events[e].record] += events[e].delta) == 0) holding.erase(events[e].record);
    if (e == events.size() || holding.empty()) continue;
    bool allocated = false;
    for (const auto& [r, n] : holding) allocated = allocated || records[r].allocated;
    holders.clear();
    for (const auto& [r, n] : holding)
      if (records[r].allocated == allocated) holders.push_back(r);
    for (std::size_t r : holders) records[r].ticks_by_sharers[holders.size()] += events[e].at - at;
  }
}

// Reads dcgm series one at a time, in the file's order (a whole exposition, or a range
// answer streamed): each series of the metric is read into its records as it comes; what
// needs every series (which cards are in MIG mode, which the metric leaves out) is settled
// in finish(), and the errors of reading a series are told then, after those, in the
// series' order, as if the cards had been known first.
class DcgmReader {
 public:
  DcgmReader(const DcgmOptions& o, const RowErrors& rows, const std::string& source, bool json)
      : o_(o), rows_(rows), source_(source), json_(json), gaps_(o.max_gap.value_or(0)),
        buckets_(json ? ingest::current_buckets() : nullptr) {}

  // What the parser says is wrong with a series' text: told at once, as the parser finds it.
  prometheus::ErrorHandler parse_errors() { return handler(rows_, result_); }

  void add(const Series& s) {
    ++result_.rows;
    const std::string uuid = prometheus::first_label(s.labels, {"UUID", "uuid"}).value_or("");
    const std::string instance(s.labels.get("GPU_I_ID").value_or(""));
    const bool metric = s.name == o_.metric || (json_ && s.name.empty());
    // dcgm-exporter's fields are DCGM_FI_* (and DCGM_EXP_*), its 1.x ones dcgm_*.
    if (!uuid.empty() && (metric || s.name.starts_with("DCGM_") || s.name.starts_with("dcgm_"))) {
      const auto [at, added] = card_index_.try_emplace(uuid, cards_.size());
      if (added) cards_.push_back({uuid, "", s.where, {}, {}});
      Card& card = cards_[at->second];
      if (card.model.empty()) card.model = s.labels.get("modelName").value_or("");
      if (!instance.empty() &&
          std::none_of(card.instances.begin(), card.instances.end(), [&](const auto& i) { return i.first == instance; }))
        card.instances.emplace_back(instance, s.where);
      if (!metric && known_scale(s.name)) card.utilisation_metrics.insert(s.name);
    }
    if (metric) read(s, uuid, instance);
    else if (known_scale(s.name)) utilisation_metrics_.insert(s.name);
  }

  IngestResult finish(std::vector<std::string> warnings) {
    result_.warnings = std::move(warnings);
    if (chosen_.empty() && result_.rows > 0) {
      const std::vector<std::string> others(utilisation_metrics_.begin(), utilisation_metrics_.end());
      throw SpecError(source_, "no " + o_.metric + " series" +
                                   (others.empty() ? std::string(", nor any other DCGM utilisation metric")
                                                   : "; the file has " + joined(others) + ": set metric to the one to read"));
    }
    // Every card the file shows is read through the metric, a GPU in MIG mode through each
    // of its instances: a GPU or instance without a series of it would go unseen, its time
    // lost, and the profiling fields (DCGM_FI_PROF_*) are missing for whole GPUs older than
    // Volta (NVIDIA/dcgm-exporter#395) and where DCGM's profiling module does not serve a GPU
    // (NVIDIA/DCGM#226 on H100 and H200, #218). A series of a MIG card without GPU_I_ID would
    // count the whole GPU beside its instances: it is left out, its records with it.
    std::map<std::string, std::set<std::string>> with_metric;  // UUID -> its instances ("": the GPU) read
    for (const Chosen& c : chosen_)
      if (!c.uuid.empty()) with_metric[c.uuid].insert(c.instance);
    std::set<std::string> dropped;  // "UUID/": the whole-GPU slices of cards in MIG mode
    for (Chosen& c : chosen_) {
      const auto at = card_index_.find(c.uuid);
      if (c.uuid.empty() || !c.instance.empty() || at == card_index_.end() || cards_[at->second].instances.empty()) continue;
      const Card& card = cards_[at->second];
      c.skip = true;
      dropped.insert(c.uuid + "/");
      rows_.skip(result_, c.where,
                 "GPU " + c.uuid + " is in MIG mode (instance " + card.instances[0].first + " at " + card.instances[0].second +
                     ") but this " + o_.metric + " series has no GPU_I_ID: it would count the whole GPU beside its instances");
    }
    for (const Card& card : cards_) {
      const std::set<std::string>& parts = with_metric[card.uuid];
      std::vector<std::string> missing;
      std::string where = card.where;
      for (const auto& [instance, at] : card.instances)
        if (!parts.contains(instance)) {
          if (missing.empty()) where = at;
          missing.push_back(instance);
        }
      if (missing.empty() && (!card.instances.empty() || parts.contains(""))) continue;
      rows_.skip(result_, where, unseen(card, missing, o_.metric));
    }
    for (const Chosen& c : chosen_)
      if (!c.skip)
        for (const auto& [where, what] : c.errors) rows_.skip(result_, where, what);
    for (const std::string& slice : dropped) slices_.erase(slice);
    for (const auto& slice : slices_) share_ticks(slice.second, records_);
    return records(dropped);
  }

 private:
  struct Chosen {
    std::string uuid;  // "" when the series has none (an error, once it is read)
    std::string instance;
    std::string where;
    std::vector<std::pair<std::string, std::string>> errors;  // what reading it found, told in finish()
    bool skip = false;
  };

  void read(const Series& s, const std::string& uuid, const std::string& instance) {
    Chosen& c = chosen_.emplace_back(Chosen{uuid, instance, s.where, {}, false});
    const auto defer = [&c](const std::string& where, const std::string& what) { c.errors.emplace_back(where, what); };
    try {
      read_samples(s, c, defer);
    } catch (const std::invalid_argument& e) {
      defer(s.where, e.what());
    } catch (const std::overflow_error& e) {
      defer(s.where, e.what());
    }
  }

  void read_samples(const Series& s, const Chosen& c, const prometheus::ErrorHandler& defer) {
    if (c.uuid.empty()) throw ParseError("series has no UUID label");
    const int scale = o_.scale == Scale::percent ? 100 : 1;
    const Rational fraction = gpu_fraction(s.labels, o_);
    // --use-old-namespace writes pod_name, pod_namespace and container_name.
    const std::string pod = prometheus::scraped_label(s.labels, "pod", "pod_name").value_or("");
    const std::string ns = prometheus::scraped_label(s.labels, "namespace", "pod_namespace").value_or("");
    const std::string container = prometheus::scraped_label(s.labels, "container", "container_name").value_or("");
    std::vector<Tags::Pair> pairs;
    pairs.reserve(8);
    pairs.emplace_back("gpu", c.uuid);
    if (!c.instance.empty()) {
      pairs.emplace_back("mig_instance", c.instance);
      pairs.emplace_back("mig_profile", std::string(s.labels.get("GPU_I_PROFILE").value_or("")));
    }
    if (const auto host = prometheus::first_label(s.labels, {"Hostname", "hostname"})) pairs.emplace_back("node", *host);
    if (const auto model = s.labels.get("modelName")) pairs.emplace_back("gpu_model", std::string(*model));
    if (!pod.empty()) {
      if (!ns.empty()) pairs.emplace_back("namespace", ns);
      pairs.emplace_back("pod", pod);
      if (!container.empty()) pairs.emplace_back("container", container);
    }
    const std::vector<const Sample*> samples = prometheus::usable_samples(s, defer, [&](const Sample& sample) {
      if (sample.value <= Decimal(scale)) return std::string();
      return o_.metric + " " + sample.value.to_string() + " is above " + std::to_string(scale) + " (" +
             (o_.scale == Scale::percent ? "a percentage" : "a ratio") + ")";
    });
    if (samples.empty()) return;
    const Tags tags(std::move(pairs));
    const std::string slice = c.uuid + "/" + c.instance;
    const auto record_of = [&](std::optional<std::size_t> bucket) {
      const auto [it, added] = index_.try_emplace({tags, bucket.value_or(std::string::npos)}, records_.size());
      if (added) {
        DcgmRecord r;
        r.tags = tags;
        r.origin = s.where;
        r.card = c.uuid;
        r.slice = slice;
        r.allocated = !pod.empty();
        r.bucket = bucket;
        r.fraction = fraction;
        records_.push_back(std::move(r));
      }
      return it->second;
    };
    std::vector<Run>& runs = slices_[slice];
    const auto hold = [&](std::size_t record, std::int64_t start, std::int64_t end) {
      if (!runs.empty() && runs.back().record == record && runs.back().end == start) runs.back().end = end;
      else runs.push_back({start, end, record});
    };
    if (buckets_) {
      // Under a series, a record per series and bucket: each sample's interval goes into the
      // buckets it overlaps. This series' record of each bucket, found once.
      std::vector<std::size_t> of_bucket(buckets_->size(), std::string::npos);
      const auto bucket_record = [&](std::size_t b) {
        if (of_bucket[b] == std::string::npos) of_bucket[b] = record_of(b);
        return of_bucket[b];
      };
      for (const Sample* p : samples)
        if (const auto b = bucket_holding(*buckets_, *p->timestamp)) {
          DcgmRecord& r = records_[bucket_record(*b)];
          r.utilization_sum += p->value.to_rational();
          ++r.samples;
        }
      gaps_.add(samples);
      for (std::size_t i = 0; i + 1 < samples.size(); ++i) {
        if (prometheus::held_seconds(samples, i, *o_.max_gap) == 0) continue;
        const std::int64_t start = samples[i]->timestamp->unix_nanos(), end = samples[i + 1]->timestamp->unix_nanos();
        for_each_overlap(*buckets_, Interval(*samples[i]->timestamp, *samples[i + 1]->timestamp), [&](std::size_t b, std::int64_t) {
          const Interval& bucket = (*buckets_)[b];
          hold(bucket_record(b), std::max(start, bucket.start().unix_nanos()), std::min(end, bucket.end().unix_nanos()));
        });
      }
      return;
    }
    const std::size_t record = record_of(std::nullopt);
    for (const Sample* p : samples) records_[record].utilization_sum += p->value.to_rational();
    records_[record].samples += samples.size();
    if (!json_) {
      runs.push_back({0, 1, record});  // a scrape: every series at one time, for `interval`
      return;
    }
    // A sample holds its GPU until the next one, if within max_gap (held_seconds); the
    // last holds nothing, closing the range. Consecutive holds make one run.
    gaps_.add(samples);
    for (std::size_t i = 0; i + 1 < samples.size(); ++i) {
      if (prometheus::held_seconds(samples, i, *o_.max_gap) == 0) continue;
      hold(record, samples[i]->timestamp->unix_nanos(), samples[i + 1]->timestamp->unix_nanos());
    }
  }

  // Each record's exact seconds on its GPU; a GPU's records are rounded together, by the one
  // largest-remainder rule, so they sum exactly to the GPU's observed seconds, rounded once.
  IngestResult records(const std::set<std::string>& dropped) {
    const int scale = o_.scale == Scale::percent ? 100 : 1;
    const Decimal unit = Decimal::from_raw(1);
    const Rational tick = json_ ? Rational(1, 1'000'000'000) : *o_.interval;
    std::map<std::string, std::vector<std::size_t>> card_records;  // UUID -> its records
    std::vector<Rational> exact(records_.size());
    for (std::size_t i = 0; i < records_.size(); ++i) {
      if (dropped.contains(records_[i].slice)) continue;
      for (const auto& [sharers, ticks] : records_[i].ticks_by_sharers) exact[i] += Rational(BigInt(ticks), BigInt(sharers));
      exact[i] *= records_[i].fraction * tick;
      card_records[records_[i].card].push_back(i);
    }
    std::vector<Decimal> seconds(records_.size());
    for (const auto& card : card_records) {
      const std::vector<std::size_t>& members = card.second;
      std::vector<Rational> parts;
      Rational total = 0;
      for (std::size_t i : members) {
        parts.push_back(exact[i]);
        total += exact[i];
      }
      if (total == 0) continue;
      const std::vector<Decimal> split =
          allocate_by_weights(Decimal::from_rational(total, unit), parts, unit,
                              [&](std::size_t a, std::size_t b) { return records_[members[a]].tags < records_[members[b]].tags; });
      for (std::size_t k = 0; k < members.size(); ++k) seconds[members[k]] = split[k];
    }
    for (std::size_t i = 0; i < records_.size(); ++i) {
      DcgmRecord& d = records_[i];
      if (dropped.contains(d.slice)) continue;
      Record r;
      r.tags = std::move(d.tags);
      r.pool = o_.pool;
      r.origin = std::move(d.origin);
      r.measures[d.allocated ? "gpu_seconds" : "idle_gpu_seconds"] = seconds[i];
      if (d.samples > 0)
        r.measures["utilization"] = Decimal::from_rational(d.utilization_sum / (scale * static_cast<long long>(d.samples)), unit);
      if (d.bucket) r.start = (*buckets_)[*d.bucket].start(), r.end = (*buckets_)[*d.bucket].end();
      result_.records.push_back(std::move(r));
    }
    if (const auto warning = gaps_.warning(source_)) result_.warnings.push_back(*warning);
    return std::move(result_);
  }

  const DcgmOptions& o_;
  const RowErrors& rows_;
  const std::string& source_;
  bool json_;
  IngestResult result_;
  std::vector<Chosen> chosen_;                     // the metric's series, in file order
  std::vector<Card> cards_;                        // in file order
  std::map<std::string, std::size_t> card_index_;  // UUID -> its card
  std::set<std::string> utilisation_metrics_;      // other metrics with a known scale
  prometheus::GapCheck gaps_;
  const std::vector<Interval>* buckets_;
  std::vector<DcgmRecord> records_;
  std::map<std::pair<Tags, std::size_t>, std::size_t> index_;  // (tags, bucket or npos) -> record
  std::map<std::string, std::vector<Run>> slices_;              // UUID/instance -> the runs holding it
};

// Whether the input is a range answer, checked against the options given.
bool dcgm_json(std::string_view start, const DcgmOptions& o, ObjectReader& options) {
  const std::size_t first = start.find_first_not_of(" \t\r\n");
  const bool json = first != std::string_view::npos && start[first] == '{';
  if (json && !o.max_gap)
    throw SpecError(options.path("max_gap"), "is required for a range query (seconds between samples beyond which a gap counts as no data)");
  if (json && o.interval) throw SpecError(options.path("interval"), "applies only to a text scrape");
  if (!json && !o.interval) throw SpecError(options.path("interval"), "is required for a text scrape (seconds each sample stands for)");
  if (!json && o.max_gap) throw SpecError(options.path("max_gap"), "applies only to a range query");
  return json;
}

void require_matrix(const std::string& result_type, const std::string& source) {
  if (result_type != "matrix")
    throw SpecError(source, "dcgm needs a range query (resultType matrix) or a text scrape, got \"" + result_type + "\"");
}

IngestResult read_dcgm_text(std::string_view text, const DcgmOptions& o, const RowErrors& rows, bool json,
                            const std::string& source) {
  DcgmReader reader(o, rows, source, json);
  const Exposition exposition =
      json ? prometheus::parse_api_json(text, source, reader.parse_errors()) : prometheus::parse_text(text, source, reader.parse_errors());
  if (json) require_matrix(exposition.result_type, source);
  for (const auto& family : exposition.families)
    for (const Series& s : family.series) reader.add(s);
  return reader.finish(exposition.warnings);
}

IngestResult parse_dcgm(std::string_view text, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const DcgmOptions o = read_dcgm_options(options);  // and checks every option was known
  return read_dcgm_text(text, o, rows, dcgm_json(text, o, options), source);
}

// A range answer read a series at a time, so that a month of samples is never held: only
// each series' records. Whatever cannot be read so is read whole, from the start.
IngestResult parse_dcgm_stream(std::istream& in, ObjectReader& options, const std::string& source) {
  const RowErrors rows(options);
  const DcgmOptions o = read_dcgm_options(options);
  const std::istream::pos_type start = in.tellg();
  char head[256];
  in.read(head, sizeof head);
  const std::string_view peeked(head, static_cast<std::size_t>(in.gcount()));
  const bool json = dcgm_json(peeked, o, options);
  in.clear();
  const bool seekable = start != std::istream::pos_type(-1) && in.seekg(start);
  const auto whole = [&] {
    std::string text(peeked);
    if (seekable) {
      in.clear();
      in.seekg(start);
      text.clear();
    }
    text.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return read_dcgm_text(text, o, rows, json, source);
  };
  if (!json || !seekable) return whole();
  auto reader = std::make_unique<DcgmReader>(o, rows, source, json);
  const std::optional<Exposition> answer =
      prometheus::stream_api_json(in, source, reader->parse_errors(), [&](const Series& s) { reader->add(s); });
  if (!answer) return whole();
  require_matrix(answer->result_type, source);
  return reader->finish(answer->warnings);
}

}  // namespace

void register_prometheus(IngestRegistry& registry) {
  registry.add("prometheus-text", parse_prometheus_text);
  registry.add("prometheus-json", parse_prometheus_json);
  registry.add_stream("prometheus-json", parse_prometheus_json_stream);
  registry.add("dcgm", parse_dcgm);
  registry.add_stream("dcgm", parse_dcgm_stream);
  // Live: the series the format reads. prometheus-json has no default: it reads any query,
  // or the metrics its `metric` option names.
  registry.add_live("dcgm", {LiveSource::Api::prometheus_range, [](ObjectReader& options) -> std::optional<std::string> {
                               // With DCGM_FI_DEV_GPU_UTIL, which every GPU has, beside it: a GPU
                               // the metric leaves out is then found, as in a scrape.
                               std::string metric = DcgmOptions{}.metric;
                               if (const Value* v = options.optional("metric")) metric = read_string(*v, options.path("metric"));
                               if (metric == "DCGM_FI_DEV_GPU_UTIL") return metric;
                               return "{__name__=~\"" + metric + "|DCGM_FI_DEV_GPU_UTIL\"}";
                             }});
  registry.add_live("prometheus-json",
                    {LiveSource::Api::prometheus_range, [](ObjectReader& options) -> std::optional<std::string> {
                       const Value* v = options.optional("metric");
                       if (!v) return std::nullopt;
                       std::string names;
                       for (const std::string& m : read_names(*v, options.path("metric"))) names += (names.empty() ? "" : "|") + m;
                       if (names.empty()) return std::nullopt;
                       return "{__name__=~\"" + names + "\"}";
                     }});
}

}  // namespace ingest
APPORTION_END_NAMESPACE
