// The C ABI of PartialAggregate: exact, mergeable per-group sums of records, serialized
// to bytes so shards can be aggregated in other processes and merged.

#include <new>
#include <optional>
#include <string>
#include <vector>

#include "apportion/columnar.hpp"
#include "apportion/ingest.hpp"
#include "detail.hpp"

using apportion::Decimal;
using apportion::PartialAggregate;
using namespace apn::detail;

struct apn_aggregate {
  PartialAggregate aggregate;
};

extern "C" {

int apn_aggregate_new(apn_aggregate** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    *out = new apn_aggregate;
    return APN_OK;
  });
}

void apn_aggregate_free(apn_aggregate* aggregate) { delete aggregate; }

int apn_aggregate_add_row(apn_aggregate* aggregate, const char* pool, const char* const* tag_keys,
                          const char* const* tag_values, size_t n_tags, const char* const* measure_names,
                          const char* const* measure_values, size_t n_measures) {
  return guarded([&] {
    require(aggregate, "aggregate");
    if (n_tags > 0) {
      require(tag_keys, "tag_keys");
      require(tag_values, "tag_values");
    }
    if (n_measures > 0) {
      require(measure_names, "measure_names");
      require(measure_values, "measure_values");
    }
    std::vector<PartialAggregate::TagView> tags;
    tags.reserve(n_tags);
    for (size_t i = 0; i < n_tags; ++i) {
      if (tag_keys[i] == nullptr) require(nullptr, element("tag_keys", i).c_str());
      if (tag_values[i] == nullptr) require(nullptr, element("tag_values", i).c_str());
      tags.emplace_back(tag_keys[i], tag_values[i]);
    }
    std::vector<PartialAggregate::MeasureView> measures;
    measures.reserve(n_measures);
    for (size_t i = 0; i < n_measures; ++i) {
      if (measure_names[i] == nullptr) require(nullptr, element("measure_names", i).c_str());
      measures.emplace_back(measure_names[i], decimal_arg(measure_values[i], element("measure_values", i).c_str()));
    }
    aggregate->aggregate.add(pool ? std::optional<std::string_view>(pool) : std::nullopt, tags, measures);
    return APN_OK;
  });
}

int apn_aggregate_merge(apn_aggregate* into, const apn_aggregate* other) {
  return guarded([&] {
    require(into, "into");
    require(other, "other");
    into->aggregate.merge(other->aggregate);
    return APN_OK;
  });
}

int apn_aggregate_serialize(char** out, size_t* out_len, const apn_aggregate* aggregate) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(aggregate, "aggregate");
    const std::string bytes = aggregate->aggregate.serialize();
    *out = copy_out(bytes);
    *out_len = bytes.size();
    return APN_OK;
  });
}

int apn_aggregate_deserialize(apn_aggregate** out, const char* bytes, size_t len) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(out, "out");
    require(bytes, "bytes");
    auto* a = new apn_aggregate{PartialAggregate::deserialize(std::string_view(bytes, len))};
    *out = a;
    return APN_OK;
  });
}

int apn_aggregate_to_json(char** out, size_t* out_len, const apn_aggregate* aggregate, const char* source) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(aggregate, "aggregate");
    apportion::IngestResult result;
    result.records = aggregate->aggregate.to_records(source ? source : "aggregate");
    const std::string json = apportion::ingest_result_to_json(result);
    *out = copy_out(json);
    *out_len = json.size();
    return APN_OK;
  });
}

int apn_aggregate_stats(size_t* out_groups, uint64_t* out_rows, const apn_aggregate* aggregate) {
  return guarded([&] {
    require(out_groups, "out_groups");
    require(out_rows, "out_rows");
    require(aggregate, "aggregate");
    *out_groups = aggregate->aggregate.groups();
    *out_rows = aggregate->aggregate.rows();
    return APN_OK;
  });
}

}  // extern "C"
