#pragma once
// What the libFuzzer targets share (docs/fuzzing.md): the rule for exceptions, and a small
// reader that takes option bytes off the front of an input.
//
// Bad input may throw only what the library documents for it (include/apportion/errors.hpp):
// std::invalid_argument (ParseError, SpecError, PrecisionError, PriceNotFound, ...) or
// std::overflow_error (OverflowError). Anything else escaping a parser aborts, so libFuzzer
// reports it: a std::logic_error that is not an invalid_argument is a broken invariant, and
// std::out_of_range, std::length_error, std::bad_alloc, std::bad_variant_access or a
// non-standard exception mean a check is missing.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>

namespace fuzz {

[[noreturn]] inline void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "\n==fuzz== %s: %s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Runs f; returns "" when it succeeds, else "error: <message>" for a documented bad-input
// exception. Aborts on any other exception.
template <class F>
std::string outcome(F&& f) {
  try {
    f();
    return "";
  } catch (const std::invalid_argument& e) {
    return std::string("error: ") + e.what();
  } catch (const std::overflow_error& e) {
    return std::string("error: ") + e.what();
  } catch (const std::exception& e) {
    fail("undocumented exception", std::string(typeid(e).name()) + ": " + e.what());
  } catch (...) {
    fail("undocumented exception", "not derived from std::exception");
  }
}

inline void check(bool ok, const char* what, const std::string& detail = "") {
  if (!ok) fail(what, detail);
}

// The fuzzer's bytes: a few option bytes taken off the front, the rest as text.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  // The next byte (0 once the input is used up).
  std::uint8_t byte() {
    if (size_ == 0) return 0;
    --size_;
    return *data_++;
  }
  std::string_view rest() const { return {reinterpret_cast<const char*>(data_), size_}; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
};

}  // namespace fuzz
