// The C ABI's foundations: versions, errors, freeing, and the spec runner.

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

#include "apportion/config.hpp"
#include "apportion/errors.hpp"
#include "apportion/json.hpp"
#include "apportion/render.hpp"
#include "apportion/spec.hpp"
#include "detail.hpp"

static_assert(APN_VERSION_MAJOR == APPORTION_VERSION_MAJOR && APN_VERSION_MINOR == APPORTION_VERSION_MINOR &&
                  APN_VERSION_PATCH == APPORTION_VERSION_PATCH && APN_VERSION_NUMBER == APPORTION_VERSION,
              "apportion.h and apportion/config.hpp disagree on the version");
static_assert(std::string_view(APN_VERSION_STRING) == APPORTION_VERSION_STRING,
              "apportion.h and apportion/config.hpp disagree on the version string");

namespace apn::detail {
namespace {
thread_local std::string last_error;
}

int fail(int status, const char* message) noexcept {
  try {
    last_error = message;
  } catch (...) {  // no memory even for the message: say so without allocating
    last_error.clear();
    last_error.shrink_to_fit();
  }
  return status;
}

int fail_current() noexcept {
  // Most specific first: SpecError, PriceNotFound, CurrencyMismatch and ParseError are
  // all std::invalid_argument, which is itself a std::logic_error.
  try {
    throw;
  } catch (const apportion::SpecError& e) {
    return fail(APN_ESPEC, e.what());
  } catch (const apportion::PriceNotFound& e) {
    return fail(APN_ENOPRICE, e.what());
  } catch (const apportion::CurrencyMismatch& e) {
    return fail(APN_ECURRENCY, e.what());
  } catch (const apportion::ParseError& e) {
    return fail(APN_EPARSE, e.what());
  } catch (const std::invalid_argument& e) {
    return fail(APN_EINVAL, e.what());
  } catch (const std::overflow_error& e) {
    return fail(APN_EOVERFLOW, e.what());
  } catch (const std::bad_alloc&) {
    return fail(APN_ENOMEM, "out of memory");
  } catch (const std::length_error&) {  // a size no container can hold
    return fail(APN_ENOMEM, "out of memory");
  } catch (const std::exception& e) {
    return fail(APN_EINTERNAL, e.what());
  } catch (...) {
    return fail(APN_EINTERNAL, "unknown internal error");
  }
}

apportion::Decimal decimal_arg(const char* text, const char* name) {
  require(text, name);
  try {
    return apportion::Decimal::parse(text);
  } catch (const apportion::ParseError& e) {
    throw Failure(APN_EPARSE, std::string(name) + ": " + e.what());
  } catch (const apportion::OverflowError& e) {
    throw Failure(APN_EOVERFLOW, std::string(name) + ": " + e.what());
  }
}

apportion::Decimal unit_arg(const char* text, const char* name) {
  const apportion::Decimal unit = decimal_arg(text, name);
  if (unit.signum() <= 0) throw Failure(APN_EINVAL, std::string(name) + ": must be positive (got \"" + text + "\")");
  return unit;
}

char* copy_out(std::string_view text) {
  auto* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, text.data(), text.size());
  out[text.size()] = '\0';
  return out;
}

}  // namespace apn::detail

using namespace apn::detail;

namespace apn::detail {

void read_spec_options(apportion::ObjectReader& r, apportion::SpecOptions& options) {
  if (const apportion::Value* d = r.optional("base_dir")) options.base_dir = apportion::read_string(*d, r.path("base_dir"));
  if (const apportion::Value* v = r.optional("live_sources")) {
    if (!v->is(apportion::Value::Type::boolean)) throw apportion::SpecError(r.path("live_sources"), "must be true or false");
    options.live_sources = v->text() == "true";
  }
  if (const apportion::Value* l = r.optional("limits")) {
    apportion::ObjectReader lr(*l, r.path("limits"));
    for (const auto& [name, value] : l->members()) {
      const std::string path = lr.path(name);
      if (!value.is(apportion::Value::Type::number) && !value.is(apportion::Value::Type::string))
        throw apportion::SpecError(path, "must be a positive whole number");
      apportion::set_limit(options.limits, name, value.text(), path);
      lr.optional(name);
    }
    lr.finish();
  }
}

}  // namespace apn::detail

extern "C" {

int apn_version_number(void) { return APPORTION_VERSION; }

const char* apn_version_string(void) { return APPORTION_VERSION_STRING; }

const char* apn_last_error(void) { return last_error.c_str(); }

void apn_free(void* p) { std::free(p); }

void apn_strings_free(char** parts, size_t n) {
  if (parts == nullptr) return;
  for (size_t i = 0; i < n; ++i) std::free(parts[i]);
  std::free(parts);
}

int apn_run_json(const char* spec, size_t spec_len, char** out, size_t* out_len) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(spec, "spec");
    require(out, "out");
    require(out_len, "out_len");
    const std::string result = apportion::run_spec(std::string_view(spec, spec_len));
    *out = copy_out(result);
    *out_len = result.size();
    return APN_OK;
  });
}

int apn_run_json_opts(char** out, size_t* out_len, const char* spec, size_t spec_len, const char* options_json) {
  if (out != nullptr) *out = nullptr;
  if (out_len != nullptr) *out_len = 0;
  return guarded([&] {
    require(out, "out");
    require(out_len, "out_len");
    require(spec, "spec");
    apportion::SpecOptions options;
    std::string format = "json";
    if (options_json != nullptr) {
      const apportion::Value v = apportion::parse_json(options_json);
      apportion::ObjectReader r(v, "options");
      read_spec_options(r, options);
      if (const apportion::Value* f = r.optional("format")) {
        format = apportion::read_string(*f, r.path("format"));
        if (format != "json" && format != "table" && format != "csv" && format != "focus" && format != "markdown" &&
            format != "prometheus")
          throw apportion::SpecError(r.path("format"),
                                     "must be json, table, csv, focus, markdown or prometheus (got \"" + format + "\")");
      }
      r.finish();
    }
    std::string result;
    if (format == "json") {
      result = apportion::run_spec(std::string_view(spec, spec_len), options);
    } else {
      apportion::Allocation allocation = apportion::allocation_from_json(std::string_view(spec, spec_len), options);
      const apportion::Result ran = apportion::run(allocation);
      result = format == "focus"      ? apportion::result_to_focus(ran, allocation)
               : format == "markdown" ? apportion::result_to_markdown(ran)
               : format == "prometheus" ? apportion::result_to_prometheus(ran)
               : format == "table"    ? apportion::result_to_table(ran)
                                      : apportion::result_to_csv(ran);
    }
    *out = copy_out(result);
    *out_len = result.size();
    return APN_OK;
  });
}

}  // extern "C"
