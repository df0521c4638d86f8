#pragma once
// The built-in ingest formats, each registered from its own file.

#include "apportion/ingest.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

// One line per format file: void register_<format>(IngestRegistry& registry);
void register_prometheus(IngestRegistry& registry);  // prometheus-text, prometheus-json, dcgm
void register_csv(IngestRegistry& registry);
void register_focus(IngestRegistry& registry);
void register_opencost(IngestRegistry& registry);
void register_litellm(IngestRegistry& registry);
void register_otel_genai(IngestRegistry& registry);
void register_sacct(IngestRegistry& registry);
void register_kube_state_metrics(IngestRegistry& registry);
void register_vllm(IngestRegistry& registry);
void register_jsonl(IngestRegistry& registry);
void register_mlflow(IngestRegistry& registry);

// The threads a long input is read with: a csv file summed through the plan, the spec's
// `records` list. As many as the machine has, at most eight; set_csv_threads or
// APPORTION_THREADS=N sets it (1: on the calling thread alone).
unsigned reading_threads();

}  // namespace ingest
APPORTION_END_NAMESPACE
