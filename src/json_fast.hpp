#pragma once
// Private to the library: a fast JSON reader for the common case (json_value.cpp), and the
// pieces the spec runner uses to read long `records` lists without a Value tree (spec.cpp).

#include <array>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>
#include <span>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "apportion/value.hpp"

APPORTION_BEGIN_NAMESPACE

namespace json_fast {

// A fast reader for the common case: JSON whose strings hold printable ASCII and simple
// escapes, with numbers of ordinary size. It builds exactly the tree the SAX Builder would
// and gives up (returns false) at anything else, valid or not: unusual strings, very long
// or very large numbers, a repeated key, nesting beyond max_depth, any syntax error. The
// Builder then reads the text again and gives the same tree or the exact error.
class Reader {
 public:
  Reader(std::string_view text, std::size_t max_depth, std::size_t max_string = static_cast<std::size_t>(-1))
      : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth), max_string_(max_string) {}

  bool read(Value& out) {
    skip_space();
    if (!value(out, 0)) return false;
    skip_space();
    return p_ == end_;
  }

  // Reads the whole document; when the root is an object whose member `hook_key` is a list,
  // `hook(*this)` reads that list from its '[' (positioned there) instead, and the member
  // holds an empty list. The hook returns false to give up.
  template <class Hook>
  bool read(Value& out, std::string_view hook_key, Hook hook) {
    skip_space();
    if (p_ == end_ || *p_ != '{') return read(out);
    if (!object(out, 0, hook_key, hook)) return false;
    skip_space();
    return p_ == end_;
  }

  // Pieces for a hook.
  const char* position() const noexcept { return p_; }
  void seek(const char* p) noexcept { p_ = p; }
  bool at_end() const noexcept { return p_ == end_; }
  char peek() const noexcept { return *p_; }  // only when !at_end()
  bool eat(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  // Where the list starting at the current '[' ends (null when it does not) and how many
  // items it holds (0 when unsure), found by a scan that skips strings; and where it may be
  // cut between items: the first comma between items at or after each position asked for,
  // with the index of the item after it.
  struct ListScan {
    const char* end = nullptr;
    std::size_t items = 0;
    std::vector<std::pair<const char*, std::size_t>> cuts;
  };
  // Moves past the list starting at the current '[' without reading its items; what the
  // scan found goes to `scan` when given. False when the list does not end.
  bool skip_list(ListScan* scan = nullptr, std::span<const char* const> cut_from = {}) {
    ListScan found = scan_list(cut_from);
    if (!found.end) return false;
    p_ = found.end;
    if (scan) *scan = std::move(found);
    return true;
  }

  // Reads an object from its '{', calling on_member(key) at each member's value (spaces
  // skipped, not at the end); on_member reads the value, or returns false to give up.
  // False for anything but a well-formed object.
  template <class OnMember>
  bool each_member(OnMember&& on_member) {
    if (!eat('{')) return false;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    std::string key;
    for (bool more = true; more;) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      key.clear();
      if (!string(key) || !eat(':')) return false;
      skip_space();
      if (p_ == end_ || !on_member(key) || !separator('}', more)) return false;
    }
    return true;
  }

  // The same for members whose keys, and string values read with plain_string, are views
  // of the text: keys with an escape give up (false).
  template <class OnMember>
  bool each_plain_member(OnMember&& on_member) {
    if (!eat('{')) return false;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (bool more = true; more;) {
      skip_space();
      std::string_view key;
      if (p_ == end_ || !plain_string(key) || !eat(':')) return false;
      skip_space();
      if (p_ == end_ || !on_member(key) || !separator('}', more)) return false;
    }
    return true;
  }
  // A string of printable ASCII without escapes, as a view of the text; false for any other.
  bool plain_string(std::string_view& out) {
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = ++p_;
    // Eight bytes at a time while none is a quote, a backslash, a control byte or not ASCII.
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end_ - p_ >= 8) {
      std::uint64_t x;
      std::memcpy(&x, p_, 8);
      const std::uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
      const std::uint64_t stop = (x | ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x)) & highs;
      if (stop) {  // its lowest bit is exact: borrows only run upward from a byte that stops
        p_ += __builtin_ctzll(stop) / 8;
        if (*p_ != '"') return false;
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return out.size() <= max_string_;
      }
      p_ += 8;
    }
    while (p_ != end_) {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<std::size_t>(p_ - start));
        ++p_;
        return out.size() <= max_string_;
      }
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
      ++p_;
    }
    return false;
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  bool value(Value& out, std::size_t depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(out, depth);
      case '[': return array(out, depth);
      case '"': {
        std::string s;
        if (!string(s)) return false;
        out = Value::string(std::move(s));
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        out = Value::boolean(true);
        return true;
      case 'f':
        if (!literal("false")) return false;
        out = Value::boolean(false);
        return true;
      case 'n':
        if (!literal("null")) return false;
        out = Value();
        return true;
      default: return number(out);
    }
  }
  bool string(std::string& out) {
    ++p_;  // the opening quote
    const char* start = p_;
    while (p_ != end_) {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out.append(start, p_);
        ++p_;
        return out.size() <= max_string_;  // a longer one: the Builder names the limit
      }
      if (c < 0x20 || c >= 0x80) return false;
      if (c == '\\') {
        out.append(start, p_);
        if (++p_ == end_) return false;
        switch (*p_) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          default: return false;  // \u and anything invalid
        }
        start = ++p_;
        continue;
      }
      ++p_;
    }
    return false;
  }
  static bool digit(char c) { return c >= '0' && c <= '9'; }
  // JSON number syntax. An integer becomes the text of its value, as nlohmann reports it
  // (the same digits, "-0" as "0"); any other number keeps its text.
  bool number_text(std::string_view& out) {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    const char* int_start = p_;
    if (p_ == end_ || !digit(*p_)) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    const std::size_t int_digits = static_cast<std::size_t>(p_ - int_start);
    bool integer = true;
    if (p_ != end_ && *p_ == '.') {
      integer = false;
      ++p_;
      if (p_ == end_ || !digit(*p_)) return false;
      while (p_ != end_ && digit(*p_)) ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      integer = false;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* exp_start = p_;
      while (p_ != end_ && digit(*p_)) ++p_;
      // Two exponent digits at most: nothing near a double's range or underflow.
      if (p_ == exp_start || p_ - exp_start > 2) return false;
    }
    out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    if (integer) {
      if (int_digits > 18) return false;  // may not fit 64 bits: nlohmann's own reading decides
      if (out == "-0") out = "0";
      return true;
    }
    return int_digits <= 200;
  }
  bool number(Value& out) {
    std::string_view text;
    if (!number_text(text)) return false;
    out = Value::number(std::string(text));
    return true;
  }
  bool object(Value& out, std::size_t depth) { return object(out, depth, {}, nullptr); }

 private:
  // What follows a member or an item: ',' (more = true) or `close` (more = false).
  bool separator(char close, bool& more) {
    skip_space();
    if (p_ == end_ || (*p_ != ',' && *p_ != close)) return false;
    more = *p_++ == ',';
    return true;
  }

  ListScan scan_list(std::span<const char* const> cut_from) const {
    if (p_ == end_ || *p_ != '[') return {};
    ListScan out;
    const char* p = p_;
    std::size_t depth = 0, commas = 0;
    bool any = false;  // the list holds something: its items are its commas + 1
    bool in_string = false, escaped = false;
    std::size_t next_cut = 0;
    const auto comma = [&](const char* at) {
      if (next_cut < cut_from.size() && at >= cut_from[next_cut]) {
        out.cuts.emplace_back(at, commas + 1);
        while (next_cut < cut_from.size() && at >= cut_from[next_cut]) ++next_cut;
      }
      ++commas;
    };
    // One byte; true at the list's end.
    const auto step = [&](const char* at) {
      const char c = *at;
      if (in_string) {
        if (escaped) escaped = false;
        else if (c == '\\') escaped = true;
        else if (c == '"') in_string = false;
        return false;
      }
      switch (c) {
        case ' ': case '\n': case '\r': case '\t': return false;
        case '"': in_string = true; break;
        case '[': case '{': ++depth; if (depth == 2) any = true; return false;
        case ']': case '}': return --depth == 0;
        case ',':
          if (depth == 1) comma(at);
          return false;
        default: break;
      }
      any = any || depth == 1;
      return false;
    };
    const auto done = [&](const char* at) {
      out.end = at + 1;
      out.items = any ? commas + 1 : 0;
      return out;
    };
#if defined(__SSE2__)
    // 64 bytes at a time once the list holds something: bit masks of the quotes and the
    // brackets and commas, strings found by a running XOR of the quotes (whose carry says
    // whether a block starts inside one), then only the brackets and commas outside strings
    // visited. A block with a backslash goes byte by byte.
    const auto mask_of = [](const char* at, char c) {
      const __m128i v = _mm_set1_epi8(c);
      std::uint64_t m = 0;
      for (int i = 0; i < 4; ++i)
        m |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(
                 _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 16 * i)), v))))
             << (16 * i);
      return m;
    };
    const auto mask_of_folded = [](const char* at, char c) {  // c and c - 0x20: '{' and '[', '}' and ']'
      const __m128i v = _mm_set1_epi8(c), fold = _mm_set1_epi8(0x20);
      std::uint64_t m = 0;
      for (int i = 0; i < 4; ++i)
        m |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(
                 _mm_or_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at + 16 * i)), fold), v))))
             << (16 * i);
      return m;
    };
#endif
    for (;;) {
#if defined(__SSE2__)
      if (any && !escaped && end_ - p >= 64) {
        if (mask_of(p, '\\') == 0) {
          std::uint64_t strings = mask_of(p, '"');
          for (int shift = 1; shift < 64; shift *= 2) strings ^= strings << shift;
          if (in_string) strings = ~strings;
          in_string = (strings >> 63) != 0;
          const std::uint64_t open = mask_of_folded(p, '{') & ~strings, close = mask_of_folded(p, '}') & ~strings,
                              commas_here = mask_of(p, ',') & ~strings;
          for (std::uint64_t marks = open | close | commas_here; marks; marks &= marks - 1) {
            const std::uint64_t bit = marks & (~marks + 1);
            if (open & bit) {
              ++depth;
            } else if (close & bit) {
              if (--depth == 0) return done(p + __builtin_ctzll(bit));
            } else if (depth == 1) {
              comma(p + __builtin_ctzll(bit));
            }
          }
          p += 64;
          continue;
        }
        for (const char* block_end = p + 64; p != block_end; ++p)
          if (step(p)) return done(p);
        continue;
      }
#endif
      if (p == end_) return {};
      if (step(p)) return done(p);
      ++p;
    }
  }

  template <class Hook>
  bool object(Value& out, std::size_t depth, std::string_view hook_key, Hook hook) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = Value::object({});
    auto& members = out.members();
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    while (true) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      std::string key;
      if (!string(key)) return false;
      for (const auto& m : members)
        if (m.first == key) return false;
      skip_space();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_space();
      members.emplace_back(std::move(key), Value());
      if constexpr (!std::is_same_v<Hook, std::nullptr_t>) {
        if (depth == 0 && members.back().first == hook_key && p_ != end_ && *p_ == '[') {
          if (depth + 1 >= max_depth_ || !hook(*this)) return false;
          members.back().second = Value::array({});
          bool more;
          if (!separator('}', more)) return false;
          if (more) continue;
          return true;
        }
      }
      bool more;
      if (!value(members.back().second, depth + 1) || !separator('}', more)) return false;
      if (!more) return true;
    }
  }
  bool array(Value& out, std::size_t depth) {
    if (depth >= max_depth_) return false;
    ++p_;
    out = Value::array({});
    auto& items = out.items();
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    while (true) {
      skip_space();
      items.emplace_back();
      bool more;
      if (!value(items.back(), depth + 1) || !separator(']', more)) return false;
      if (!more) return true;
    }
  }

  const char* p_;
  const char* end_;
  std::size_t max_depth_;
  std::size_t max_string_;
};

}  // namespace json_fast

APPORTION_END_NAMESPACE
