#pragma once
// A typed model of Prometheus data, read from the text exposition format or from the HTTP
// API's `query` / `query_range` JSON responses, shared by the prometheus-text,
// prometheus-json and dcgm formats. Values stay exact: a sample is a Decimal read from its
// text, or one of the specials NaN, +Inf, -Inf; never a double.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/decimal.hpp"
#include "apportion/ingest.hpp"
#include "apportion/tags.hpp"
#include "apportion/time.hpp"

APPORTION_BEGIN_NAMESPACE
namespace prometheus {

enum class MetricType { untyped, counter, gauge, histogram, gaugehistogram, summary, info, stateset };

struct Sample {
  enum class Special { none, nan, pos_inf, neg_inf };
  Decimal value;  // meaningful when special == none
  Special special = Special::none;
  std::optional<Instant> timestamp;
  std::size_t position = 0;  // text: the line; matrix: the index in `values`
  bool finite() const noexcept { return special == Special::none; }
  // "" for a finite, non-negative value; else why it cannot be a measure ("value is NaN",
  // "value -3 is negative"), with `what` naming the value ("value", "counter value").
  std::string problem(std::string_view what = "value") const {
    switch (special) {
      case Special::nan: return std::string(what) + " is NaN";
      case Special::pos_inf: return std::string(what) + " is +Inf";
      case Special::neg_inf: return std::string(what) + " is -Inf";
      case Special::none: break;
    }
    if (value.signum() < 0) return std::string(what) + " " + value.to_string() + " is negative";
    return "";
  }
};

struct Series {
  std::string name;  // the sample's metric name (`foo_bucket`); empty for an unnamed API result
  Tags labels;       // without __name__
  std::vector<Sample> samples;
  // Where it was read, for messages: "<source> line N" (text) or "<source> data.result[i]".
  std::string where;
  bool from_api = false;  // samples are where + ".values[i]" (matrix) or ".value"
  std::size_t line = 0;   // text only
  std::size_t index = 0;  // API only: its place in data.result
};

struct Family {
  std::string name;
  MetricType type = MetricType::untyped;
  std::string help;
  std::vector<Series> series;
};

struct Exposition {
  std::vector<Family> families;
  std::string result_type;  // API responses: "vector", "matrix" or "scalar"; text: ""
  // An API answer's `warnings` (and Prometheus 3's `infos`): the query ran but the answer
  // may be partial (a remote store that did not answer). "<source>: Prometheus warned: ...".
  std::vector<std::string> warnings;
};

// Called for an unreadable line or value instead of throwing: (where, what). Without one,
// the parser throws SpecError(where, what). The handler may itself throw.
using ErrorHandler = std::function<void(const std::string& where, const std::string& what)>;

// The text exposition format (version 0.0.4): # HELP / # TYPE, labels with \" \\ \n
// escapes, optional millisecond timestamps. `foo_bucket`, `foo_sum`, `foo_count` (and
// `foo_created`) belong to family `foo` when `foo` is typed histogram or summary, and
// `foo_total` when it is a counter; a name with its own # TYPE is always its own family.
// A series (name and labels) given twice is an error.
Exposition parse_text(std::string_view text, const std::string& source, const ErrorHandler& on_error = {});

// A `query` (vector or scalar) or `query_range` (matrix) response. Status "error" is
// SpecError(source, ...) with the response's error text. Families group series by
// __name__, in order of first appearance, all untyped.
Exposition parse_api_json(std::string_view text, const std::string& source, const ErrorHandler& on_error = {});

// The same for an answer read from a stream, holding one series at a time: each series of
// data.result goes to `each` as it is read, in the answer's order, and is then dropped; the
// exposition returned has the answer's result_type and warnings and no families. Nullopt
// when the answer cannot be read so (a scalar, a syntax error, items before "status" or
// "resultType"): the caller reads it whole with parse_api_json, which says what is wrong.
// Series already given to `each` then count for nothing. What is wrong in a series goes to
// `on_error` once the whole answer is read, in order: a syntax error anywhere comes first.
std::optional<Exposition> stream_api_json(std::istream& in, const std::string& source, const ErrorHandler& on_error,
                                          const std::function<void(const Series&)>& each);

// An API answer's series in the answer's order, as stream_api_json gives them (families
// group them by name, which may interleave: Prometheus sorts by every label).
std::vector<const Series*> answer_order(const Exposition& exposition);

// The errors stream_api_json tells, kept to be told by the reader (RowErrors::tell): where
// and what.
using ToldErrors = std::vector<std::pair<std::string, std::string>>;

// An answer's series read one at a time through `each`, the errors stream_api_json tells
// kept; then `finish(head, told)` makes the result, which tells them. nullopt: the answer
// cannot be read so (stream_api_json's nullopt).
template <class Finish>
std::optional<IngestResult> read_series(std::istream& answer, const std::string& source,
                                        const std::function<void(const Series&)>& each, Finish&& finish) {
  ToldErrors told;
  const auto head = stream_api_json(
      answer, source, [&told](const std::string& where, const std::string& what) { told.emplace_back(where, what); }, each);
  if (!head) return std::nullopt;
  return finish(*head, told);
}

// An answer in `in` read a series at a time when it can be: `stream(in)` reads it so, and
// gives nullopt when it cannot (stream_api_json's nullopt); then, or when `in` cannot be
// read again from where it stands, the text from there on is read whole by `whole(text)`.
IngestResult stream_or_whole(std::istream& in, const std::function<std::optional<IngestResult>(std::istream&)>& stream,
                             const std::function<IngestResult(std::string_view)>& whole);

// The query_range answers of one query over consecutive ranges that share no sample (a
// long range fetched in parts), as the one answer of the whole range, written to `merged`:
// each series once, its values from every part in order; the parts' warnings and infos
// once each. Prometheus sorts a range answer's series by their labels, so the parts are
// merged holding one series of each (series not so sorted are merged in memory). Returns
// the index of a part that is not a successful matrix answer, or has a series the merge
// cannot read (then `merged` is incomplete: read that part alone for what is wrong), or
// nullopt when all were merged.
std::optional<std::size_t> merge_range_answers(const std::vector<std::filesystem::path>& parts,
                                               const std::filesystem::path& merged);

// Reads a sample value: a decimal (Go float syntax such as `1.5e+06`, `-0`, `+3`), `NaN`,
// `+Inf`, `-Inf`, `Inf`. Beyond 12 fractional digits it is rounded half-even. Bad text
// throws ParseError; a value beyond the Decimal range throws OverflowError.
Sample parse_value(std::string_view text);

// Where sample `i` of `series` was read.
std::string sample_where(const Series& series, std::size_t i);

// The samples of `series` that can be measures, in order: a NaN, infinite or negative one,
// or one `check` finds a problem with (its text, "" for none), goes to `drop(where, why)`
// (an error, or skipped and counted with skip_invalid) and is left out.
std::vector<const Sample*> usable_samples(const Series& series, const ErrorHandler& drop,
                                          const std::function<std::string(const Sample&)>& check = {});

// The seconds sample `i` of a range query's `samples` (in time order) stands for: the time
// to the next sample when that is at most `max_gap`; none across a longer gap (a missed
// scrape) or for the last sample, which closes the range. Exact.
Rational held_seconds(const std::vector<const Sample*>& samples, std::size_t i, const Rational& max_gap);

// Tells a max_gap below the query step, which makes held_seconds hold nothing anywhere: every
// pod idle, every usage 0, with nothing wrong to see. A gap beyond max_gap is normal (a pod
// that came back, an exporter outage), so a series holding nothing among others that hold
// is no sign, and counting such series would warn on real data. But a range query samples
// every series `step` apart, so when no gap in the whole answer is within max_gap, max_gap
// is below the step: that, and only that, is warned, once per input.
class GapCheck {
 public:
  explicit GapCheck(Rational max_gap) : max_gap_(std::move(max_gap)) {}
  // One series' samples (time order), as given to held_seconds.
  void add(const std::vector<const Sample*>& samples);
  // "<source>: ..." (counting the series, naming the shortest gap and max_gap) when series of
  // two or more samples were added and none of their gaps was within max_gap.
  std::optional<std::string> warning(const std::string& source) const;

 private:
  Rational max_gap_;
  std::optional<Rational> shortest_;  // of the gaps seen until one was within max_gap
  std::size_t series_ = 0;            // added with two or more samples
  bool held_ = false;                 // some gap was within max_gap
};

// The value of the first of `keys` the labels have; one present wins even when empty.
std::optional<std::string> first_label(const Tags& labels, std::initializer_list<std::string_view> keys);

// A label of the scraped object itself (its pod, namespace, container): Prometheus scraping
// without honor_labels renames a scraped label that clashes with a target label of its own
// (the exporter's pod and namespace) to exported_<name> (prometheus docs/configuration/
// configuration.md, honor_labels). So exported_<name> wins, then `name`, then `legacy` when
// given; the first present wins, even empty. Read by dcgm and kube-state-metrics alike.
std::optional<std::string> scraped_label(const Tags& labels, std::string_view name, std::string_view legacy = {});

// The compute slices N of a MIG profile written "Ng<separator>...": dcgm-exporter's
// GPU_I_PROFILE "1g.10gb" ('.'), kube-state-metrics' resource "nvidia_com_mig_1g_10gb" after
// its prefix ('_'). Nullopt when the text is not so, or N is 0.
std::optional<Rational> mig_profile_slices(std::string_view profile, char separator);

std::string_view to_string(MetricType type) noexcept;

}  // namespace prometheus
APPORTION_END_NAMESPACE
