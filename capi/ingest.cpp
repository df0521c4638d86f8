// The C ABI of ingest: a file's content in one of the input formats, spec JSON out.

#include <string>

#include "apportion/ingest.hpp"
#include "apportion/json.hpp"
#include "detail.hpp"

using namespace apn::detail;

extern "C" {

int apn_ingest(char** out, size_t* out_len, const char* format, const char* text, size_t text_len,
               const char* options_json, const char* source) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(format, "format");
    if (!apportion::IngestRegistry::global().contains(format))
      throw Failure(APN_ESPEC, "format: unknown input format \"" + std::string(format) + "\"");
    const apportion::Value options =
        options_json ? apportion::parse_json(options_json) : apportion::Value::object({});
    apportion::ObjectReader reader(options, "options");
    // No text and a `url`: the input is read from its server (docs/ingest.md, "Live sources").
    const bool live = text == nullptr && options.is(apportion::Value::Type::object) && options.find("url");
    if (!live) require(text, "text");
    const apportion::IngestResult result =
        live ? apportion::IngestRegistry::global().parse_live(format, reader, apportion::LiveContext{})
             : apportion::IngestRegistry::global().parse(format, std::string_view(text, text_len), reader,
                                                         source ? source : "input");
    reader.finish();
    const std::string json = apportion::ingest_result_to_json(result);
    *out = copy_out(json);
    *out_len = json.size();
    return APN_OK;
  });
}

}  // extern "C"
