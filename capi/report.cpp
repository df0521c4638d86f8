// The C ABI's HTML showback report (report.hpp, docs/report.md).

#include <string>

#include "apportion/errors.hpp"
#include "apportion/json.hpp"
#include "apportion/report.hpp"
#include "apportion/spec.hpp"
#include "detail.hpp"

using namespace apn::detail;

extern "C" {

int apn_report_html(char** out, size_t* out_len, const char* spec, size_t spec_len, const char* options_json) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(spec, "spec");
    apportion::SpecOptions options;
    apportion::ReportOptions report;
    if (options_json != nullptr) {
      const apportion::Value v = apportion::parse_json(options_json);
      apportion::ObjectReader r(v, "options");
      if (const apportion::Value* t = r.optional("title")) report.title = apportion::read_string(*t, r.path("title"));
      if (const apportion::Value* g = r.optional("generated_at"))
        report.generated_at = apportion::read_string(*g, r.path("generated_at"));
      read_spec_options(r, options);
      r.finish();
    }
    const std::string html = apportion::result_to_html(
        apportion::run(apportion::allocation_from_json(std::string_view(spec, spec_len), options)), report);
    *out = copy_out(html);
    *out_len = html.size();
    return APN_OK;
  });
}

}  // extern "C"
