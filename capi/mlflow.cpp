// The C ABI's MLflow write-back: a spec's training costs logged to a file store or a
// tracking server (mlflow.hpp).

#include <cstdlib>
#include <string>

#include "apportion/errors.hpp"
#include "apportion/json.hpp"
#include "apportion/mlflow.hpp"
#include "apportion/spec.hpp"
#include "detail.hpp"

using namespace apn::detail;

extern "C" {

int apn_log_to_mlflow(char** out, size_t* out_len, const char* spec, size_t spec_len, const char* options_json,
                      const char* target) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(spec, "spec");
    require(target, "target");
    apportion::SpecOptions options;
    apportion::MlflowLogOptions log;
    std::string token_env = "MLFLOW_TRACKING_TOKEN";
    bool token_env_given = false;
    if (options_json != nullptr) {
      const apportion::Value v = apportion::parse_json(options_json);
      apportion::ObjectReader r(v, "options");
      if (const apportion::Value* n = r.optional("spec_name")) log.spec = apportion::read_string(*n, r.path("spec_name"));
      if (const apportion::Value* e = r.optional("bearer_token_env")) {
        token_env = apportion::read_string(*e, r.path("bearer_token_env"));
        token_env_given = true;
      }
      read_spec_options(r, options);
      r.finish();
    }
    if (const char* token = token_env.empty() ? nullptr : std::getenv(token_env.c_str()); token && *token)
      log.bearer_token = token;
    else if (token_env_given)
      throw apportion::SpecError("options.bearer_token_env", "the environment variable " + token_env + " is not set");
    const apportion::Allocation allocation = apportion::allocation_from_json(std::string_view(spec, spec_len), options);
    const apportion::Result result = apportion::run(allocation);
    const std::string text = apportion::mlflow_log_report_to_json(apportion::log_to_mlflow(allocation, result, target, log));
    *out = copy_out(text);
    *out_len = text.size();
    return APN_OK;
  });
}

}  // extern "C"
