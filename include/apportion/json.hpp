#pragma once
// JSON text in and out. Numbers are read from their exact text, never through a double.

#include <string>
#include <string_view>

#include "apportion/limits.hpp"
#include "apportion/value.hpp"

APPORTION_BEGIN_NAMESPACE

// Parses JSON text. Text that is not JSON is SpecError("line L, column C: ..."); a key
// given twice in one object or nesting deeper than `max_depth` is SpecError naming the path.
Value parse_json(std::string_view text, std::size_t max_depth = 128);
// The same under `limits`: text longer than max_spec_bytes, nesting deeper than max_depth
// and a string or key longer than max_string_bytes are SpecError naming the path and limit.
// Strings must be valid UTF-8 (so must any JSON text): a bad byte is SpecError("line L,
// column C: ...").
Value parse_json(std::string_view text, const Limits& limits);

APPORTION_END_NAMESPACE
