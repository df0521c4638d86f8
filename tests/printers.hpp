#pragma once
// How GoogleTest shows the library's values in failure messages: as their text, not as
// bytes. GoogleTest finds PrintTo by argument-dependent lookup.

#include <ostream>

#include "apportion/decimal.hpp"
#include "apportion/quantity.hpp"
#include "apportion/time.hpp"

APPORTION_BEGIN_NAMESPACE

inline void PrintTo(const Decimal& value, std::ostream* os) { *os << value.to_string(); }
inline void PrintTo(const Instant& value, std::ostream* os) { *os << value.to_string(); }
inline void PrintTo(const Interval& value, std::ostream* os) {
  *os << '[' << value.start().to_string() << ", " << value.end().to_string() << ')';
}
template <class UnitTag>
void PrintTo(const Quantity<UnitTag>& value, std::ostream* os) {
  *os << value.to_string();
}

APPORTION_END_NAMESPACE
