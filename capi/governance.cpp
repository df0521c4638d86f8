// The C ABI's governance entry points: the alerts a spec's budgets and anomalies fire,
// rendered as text, JSON or a Slack Block Kit payload (alerts.hpp). Nothing is sent.

#include <string>
#include <vector>

#include "apportion/alerts.hpp"
#include "apportion/errors.hpp"
#include "apportion/json.hpp"
#include "apportion/spec.hpp"
#include "detail.hpp"

using namespace apn::detail;

extern "C" {

int apn_alerts_json(char** out, size_t* out_len, const char* spec, size_t spec_len, const char* options_json) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(spec, "spec");
    apportion::SpecOptions options;
    apportion::AlertFormat format = apportion::AlertFormat::text;
    std::vector<std::string> fired;
    if (options_json != nullptr) {
      const apportion::Value v = apportion::parse_json(options_json);
      apportion::ObjectReader r(v, "options");
      if (const apportion::Value* f = r.optional("format")) {
        try {
          format = apportion::parse_alert_format(apportion::read_string(*f, r.path("format")));
        } catch (const std::invalid_argument& e) {
          throw apportion::SpecError(r.path("format"), e.what());
        }
      }
      if (const apportion::Value* k = r.optional("already_fired"))
        fired = apportion::read_string_list(*k, r.path("already_fired"));
      read_spec_options(r, options);
      r.finish();
    }
    apportion::Allocation allocation = apportion::allocation_from_json(std::string_view(spec, spec_len), options);
    apportion::add_fired_keys(allocation, fired);
    const std::string text = apportion::render_alerts(apportion::alert_events(apportion::run(allocation)), format);
    *out = copy_out(text);
    *out_len = text.size();
    return APN_OK;
  });
}

}  // extern "C"
