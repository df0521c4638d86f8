// The C ABI of records as columns and of results read without JSON: apn_batch wraps a
// RecordBatch (spec.hpp) whose per-row arrays are the caller's, apn_run reads batches after
// the spec's records, and apn_result holds the engine's Result for the line accessors.

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "apportion/json.hpp"
#include "apportion/render.hpp"
#include "apportion/spec.hpp"
#include "detail.hpp"

using namespace apn::detail;

struct apn_batch {
  apportion::RecordBatch batch;
};

struct apn_result {
  apportion::Result result;
  std::string currency;
  std::vector<std::string> pool_costs;
  std::vector<std::string> bucket_bounds;  // under a series: each bucket's start and end, in turn
  // Every line's cost text, NUL-terminated one after another, made on the first cost read
  // (once, whichever thread asks first) so a run read only as JSON never pays for it.
  mutable std::once_flag costs_once;
  mutable std::string costs;
  mutable std::vector<std::size_t> cost_at;
};

namespace {

// A span over `n` caller elements; NULL only when there are none.
template <class T>
std::span<const T> borrowed(const T* p, size_t n, const char* name) {
  if (n > 0) require(p, name);
  return {p, n};
}

const apportion::Line& line_at(const apn_result* r, size_t line) {
  require(r, "result");
  const size_t n = r->result.lines.size();
  if (line >= n)
    throw Failure(APN_EINVAL, "line: " + std::to_string(line) + " is not below the result's " + std::to_string(n) + " lines");
  return r->result.lines[line];
}

const char* line_cost(const apn_result* r, size_t line) {
  std::call_once(r->costs_once, [r] {
    std::string costs;
    std::vector<std::size_t> at;
    at.reserve(r->result.lines.size());
    for (const apportion::Line& l : r->result.lines) {
      at.push_back(costs.size());
      costs += apportion::format_amount(l.cost, r->result.precision);
      costs += '\0';
    }
    r->costs = std::move(costs);  // nothing is set unless every text was made
    r->cost_at = std::move(at);
  });
  return r->costs.data() + r->cost_at[line];
}

}  // namespace

extern "C" {

int apn_batch_new(apn_batch** out, size_t rows, const char* source) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    auto b = std::make_unique<apn_batch>();
    b->batch.rows = rows;
    if (source != nullptr) b->batch.source = source;
    *out = b.release();
    return APN_OK;
  });
}

void apn_batch_free(apn_batch* batch) { delete batch; }

int apn_batch_set_pool(apn_batch* batch, const char* pool) {
  return guarded([&] {
    require(batch, "batch");
    batch->batch.pool = pool ? std::optional<std::string>(pool) : std::nullopt;
    return APN_OK;
  });
}

int apn_batch_add_tags(apn_batch* batch, const char* key, const char* const* dictionary, size_t n_dictionary,
                       const int32_t* codes, size_t n_codes) {
  return guarded([&] {
    require(batch, "batch");
    require(key, "key");
    const auto values = borrowed(dictionary, n_dictionary, "dictionary");
    apportion::RecordBatch::TagColumn column{key, {}, borrowed(codes, n_codes, "codes")};
    column.dictionary.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      if (values[i] == nullptr) require(nullptr, element("dictionary", i).c_str());
      column.dictionary.emplace_back(values[i]);
    }
    batch->batch.tags.push_back(std::move(column));  // the batch is unchanged if this throws
    return APN_OK;
  });
}

int apn_batch_add_measure(apn_batch* batch, const char* name, const int64_t* values, size_t n_values, int scale,
                          const uint8_t* present) {
  return guarded([&] {
    require(batch, "batch");
    require(name, "name");
    apportion::RecordBatch::MeasureColumn column{name, borrowed(values, n_values, "values"), scale, {}};
    if (present != nullptr) column.present = {present, n_values};
    batch->batch.measures.push_back(std::move(column));
    return APN_OK;
  });
}

int apn_run(apn_result** out, const char* spec, size_t spec_len, const char* options_json,
            const apn_batch* const* batches, size_t n_batches) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(spec, "spec");
    const auto given = borrowed(batches, n_batches, "batches");
    apportion::SpecOptions options;
    if (options_json != nullptr) {
      const apportion::Value v = apportion::parse_json(options_json);
      apportion::ObjectReader r(v, "options");
      read_spec_options(r, options);
      if (r.optional("format"))
        throw apportion::SpecError(r.path("format"),
                                   "not taken by apn_run, whose result is rendered afterwards (apn_result_to_json); "
                                   "apn_run_json_opts takes a format");
      r.finish();
    }
    options.batches.reserve(given.size());
    for (size_t i = 0; i < given.size(); ++i) {
      if (given[i] == nullptr) require(nullptr, element("batches", i).c_str());
      options.batches.push_back(given[i]->batch);  // copies the dictionaries, not the rows
    }
    auto made = std::make_unique<apn_result>();
    made->result = apportion::run(apportion::allocation_from_json(std::string_view(spec, spec_len), options));
    const apportion::Result& res = made->result;
    made->currency = std::string(res.currency.code());
    made->pool_costs.reserve(res.pools.size());
    for (const apportion::PoolCost& p : res.pools) made->pool_costs.push_back(apportion::format_amount(p.cost, res.precision));
    for (const apportion::BucketPools& b : res.series) {
      made->bucket_bounds.push_back(b.bucket.start().to_string());
      made->bucket_bounds.push_back(b.bucket.end().to_string());
    }
    *out = made.release();
    return APN_OK;
  });
}

void apn_result_free(apn_result* result) { delete result; }

int apn_result_to_json(char** out, size_t* out_len, const apn_result* result) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(result, "result");
    const std::string json = apportion::result_to_json(result->result);
    *out = copy_out(json);
    *out_len = json.size();
    return APN_OK;
  });
}

int apn_result_currency(const char** out, const apn_result* result) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(result, "result");
    *out = result->currency.c_str();
    return APN_OK;
  });
}

int apn_result_pool_count(size_t* out, const apn_result* result) {
  if (out != nullptr) *out = 0;
  return guarded([&] {
    require(out, "out");
    require(result, "result");
    *out = result->result.pools.size();
    return APN_OK;
  });
}

int apn_result_pool(const char** out_id, const char** out_cost, const apn_result* result, size_t pool) {
  if (out_id != nullptr) *out_id = nullptr;
  if (out_cost != nullptr) *out_cost = nullptr;
  return guarded([&] {
    require(out_id, "out_id");
    require(out_cost, "out_cost");
    require(result, "result");
    const size_t n = result->result.pools.size();
    if (pool >= n)
      throw Failure(APN_EINVAL, "pool: " + std::to_string(pool) + " is not below the result's " + std::to_string(n) + " pools");
    *out_id = result->result.pools[pool].id.c_str();
    *out_cost = result->pool_costs[pool].c_str();
    return APN_OK;
  });
}

int apn_result_line_count(size_t* out, const apn_result* result) {
  if (out != nullptr) *out = 0;
  return guarded([&] {
    require(out, "out");
    require(result, "result");
    *out = result->result.lines.size();
    return APN_OK;
  });
}

int apn_result_line_step(const char** out, const apn_result* result, size_t line) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    *out = line_at(result, line).step.c_str();
    return APN_OK;
  });
}

int apn_result_line_pool(const char** out, const apn_result* result, size_t line) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    const apportion::Line& l = line_at(result, line);
    *out = l.pool ? l.pool->c_str() : nullptr;
    return APN_OK;
  });
}

int apn_result_line_kind(apn_line_kind* out, const apn_result* result, size_t line) {
  return guarded([&] {
    require(out, "out");
    switch (line_at(result, line).kind) {
      case apportion::LineKind::allocated: *out = APN_LINE_ALLOCATED; break;
      case apportion::LineKind::overhead: *out = APN_LINE_OVERHEAD; break;
      case apportion::LineKind::idle: *out = APN_LINE_IDLE; break;
      case apportion::LineKind::unallocated: *out = APN_LINE_UNALLOCATED; break;
    }
    return APN_OK;
  });
}

int apn_result_line_cost(const char** out, const apn_result* result, size_t line) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    line_at(result, line);
    *out = line_cost(result, line);
    return APN_OK;
  });
}

int apn_result_line_bucket(const char** out_start, const char** out_end, const apn_result* result, size_t line) {
  if (out_start != nullptr) *out_start = nullptr;
  if (out_end != nullptr) *out_end = nullptr;
  return guarded([&] {
    require(out_start, "out_start");
    require(out_end, "out_end");
    const apportion::Line& l = line_at(result, line);
    if (!l.bucket) return APN_OK;
    const auto& series = result->result.series;
    const auto b = std::lower_bound(series.begin(), series.end(), l.bucket->start(),
                                    [](const apportion::BucketPools& x, apportion::Instant t) { return x.bucket.start() < t; });
    const std::size_t i = static_cast<std::size_t>(b - series.begin());
    *out_start = result->bucket_bounds[2 * i].c_str();
    *out_end = result->bucket_bounds[2 * i + 1].c_str();
    return APN_OK;
  });
}

int apn_result_line_tag_count(size_t* out, const apn_result* result, size_t line) {
  if (out != nullptr) *out = 0;
  return guarded([&] {
    require(out, "out");
    *out = line_at(result, line).tags.size();
    return APN_OK;
  });
}

int apn_result_line_tag(const char** out_key, const char** out_value, const apn_result* result, size_t line,
                        size_t tag) {
  if (out_key != nullptr) *out_key = nullptr;
  if (out_value != nullptr) *out_value = nullptr;
  return guarded([&] {
    require(out_key, "out_key");
    require(out_value, "out_value");
    const apportion::Tags& tags = line_at(result, line).tags;
    if (tag >= tags.size())
      throw Failure(APN_EINVAL, "tag: " + std::to_string(tag) + " is not below line " + std::to_string(line) + "'s " +
                                    std::to_string(tags.size()) + " tags");
    const auto& pair = *(tags.begin() + static_cast<std::ptrdiff_t>(tag));
    *out_key = pair.first.c_str();
    *out_value = pair.second.c_str();
    return APN_OK;
  });
}

int apn_result_line_tag_value(const char** out, const apn_result* result, size_t line, const char* key) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(key, "key");
    const apportion::Tags& tags = line_at(result, line).tags;
    // The view is of the whole std::string the tags hold, so it is NUL-terminated.
    if (const auto value = tags.get(key)) *out = value->data();
    return APN_OK;
  });
}

int apn_result_warning_count(size_t* out, const apn_result* result) {
  if (out != nullptr) *out = 0;
  return guarded([&] {
    require(out, "out");
    require(result, "result");
    *out = result->result.warnings.size();
    return APN_OK;
  });
}

int apn_result_warning(const char** out, const apn_result* result, size_t warning) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(result, "result");
    const size_t n = result->result.warnings.size();
    if (warning >= n)
      throw Failure(APN_EINVAL,
                    "warning: " + std::to_string(warning) + " is not below the result's " + std::to_string(n) + " warnings");
    *out = result->result.warnings[warning].c_str();
    return APN_OK;
  });
}

}  // extern "C"
