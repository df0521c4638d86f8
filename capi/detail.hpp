#pragma once
// Shared by the C ABI's sources: the per-thread error, the exception-to-status mapping
// every entry point goes through, and argument helpers. Not installed.

#include <exception>
#include <string>
#include <string_view>

#include "apportion.h"
#include "apportion/decimal.hpp"

#include "apportion/spec.hpp"
#include "apportion/value.hpp"

namespace apn::detail {

// A status chosen by the C layer itself (a NULL argument, a group id out of range).
class Failure : public std::exception {
 public:
  Failure(int status, std::string message) : status_(status), message_(std::move(message)) {}
  int status() const noexcept { return status_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int status_;
  std::string message_;
};

// Records `message` as this thread's last error and returns `status`.
int fail(int status, const char* message) noexcept;

// The status and message for the exception being handled (called from a catch block).
int fail_current() noexcept;

// Runs `body` (which returns APN_OK) and turns whatever it throws into a status and a
// message, so no exception ever reaches C. Every exported function goes through here.
template <class Body>
int guarded(Body&& body) noexcept {
  try {
    return body();
  } catch (const Failure& e) {
    return fail(e.status(), e.what());
  } catch (...) {
    return fail_current();
  }
}

// Throws APN_EINVAL naming `name` when `p` is NULL.
inline void require(const void* p, const char* name) {
  if (p == nullptr) throw Failure(APN_EINVAL, std::string(name) + ": must not be NULL");
}

// "name[i]", for messages about one element of an array argument.
inline std::string element(const char* name, size_t i) { return std::string(name) + '[' + std::to_string(i) + ']'; }

// Decimal text, with the argument's name in any error: "amount: ...".
apportion::Decimal decimal_arg(const char* text, const char* name);
// Decimal text that must be positive (a rounding or allocation unit).
apportion::Decimal unit_arg(const char* text, const char* name);

// A malloc'd NUL-terminated copy, for apn_free(). Throws std::bad_alloc.
char* copy_out(std::string_view text);

// Reads the options every spec-running entry point takes, `base_dir` and `limits`, from an
// options object; the caller reads its own keys from `r` and calls r.finish().
void read_spec_options(apportion::ObjectReader& r, apportion::SpecOptions& options);

}  // namespace apn::detail
