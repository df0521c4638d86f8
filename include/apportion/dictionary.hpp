#pragma once
// Dictionary encoding: strings interned to dense ids in order of first appearance, the
// one hash table of the library's grouping (the csv input's rows, the columnar aggregates,
// a strategy's groups).

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE

namespace detail {
// Whether n bytes at a and b are equal; short ones (keys, tag values, names) compared
// inline, eight bytes at a time, where a call to memcmp would cost more than the bytes.
inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
  if (n > 32) return std::memcmp(a, b, n) == 0;
  std::uint64_t x, y;
  for (; n >= 8; n -= 8, a += 8, b += 8) {
    std::memcpy(&x, a, 8);
    std::memcpy(&y, b, 8);
    if (x != y) return false;
  }
  for (; n > 0; --n)
    if (*a++ != *b++) return false;
  return true;
}
}  // namespace detail

// Interns strings to dense ids 0, 1, 2, ... in order of first appearance. Lookups take a
// string_view and allocate nothing; the strings live in one buffer.
class Dictionary {
 public:
  Dictionary() = default;
  // The id of `value`, adding it when new.
  std::uint32_t intern(std::string_view value) { return intern(value, hash(value)); }
  // The same, for a caller that looks up many values at once: with hash(value) worked out
  // beforehand, and prefetch_slot(h) then prefetch_string(value, h) run over a whole batch
  // before it, so that the cache misses of the batch overlap. Prefetches change nothing.
  std::uint32_t intern(std::string_view value, std::uint64_t h) {
    if (const std::uint32_t s = lookup(value, h)) return s - 1;
    return insert(value, h);
  }
  void prefetch_slot(std::uint64_t h) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[home(h)]);
  }
  void prefetch_string(std::string_view value, std::uint64_t h) const noexcept {
    if (slots_.empty()) return;
    const auto check = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = home(h);; i = (i + 1) & (slots_.size() - 1)) {
      const Slot& s = slots_[i];
      if (s.id_plus_one == 0) return;
      if (s.check == check && s.size == value.size()) return __builtin_prefetch(bytes_.data() + s.begin);
    }
  }
  // The id of `value`, if present.
  std::optional<std::uint32_t> find(std::string_view value) const noexcept {
    if (const std::uint32_t s = lookup(value, hash(value))) return s - 1;
    return std::nullopt;
  }
  // The string of an id below size(). The view is valid until the next intern().
  std::string_view value(std::uint32_t id) const noexcept {
    return std::string_view(bytes_.data() + offsets_[id], offsets_[id + 1] - offsets_[id]);
  }
  std::size_t size() const noexcept { return offsets_.size() - 1; }

  // A fast, well-mixed 64-bit hash of bytes (the one the dictionary uses).
  static std::uint64_t hash(std::string_view bytes) noexcept {
    constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL, k1 = 0xe7037ed1a0b428dbULL;
    std::uint64_t h = mix(bytes.size() ^ k0, k1);
    const char* p = bytes.data();
    std::size_t n = bytes.size();
    while (n >= 8) {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      h = mix(h ^ v, k1);
      p += 8;
      n -= 8;
    }
    if (n > 0) {
      const std::uint64_t v = tail(p, n, bytes.size());
      h = mix(h ^ v ^ (static_cast<std::uint64_t>(n) << 56), k0);
    }
    return mix(h, k1 ^ 0x8ebc6af09c88c6e3ULL);
  }

 private:
  // The last n bytes (1 to 7) of a string of `size` bytes ending at p + n, as memcpy into a
  // zeroed word would give them. Whole loads, not a byte at a time: bytes stored one by one
  // and read back as a word stall the load (no store forwarding), several cycles a string.
  static std::uint64_t tail(const char* p, std::size_t n, std::size_t size) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
      if (size >= 8) {  // the word that ends with them, shifted down
        std::uint64_t v;
        std::memcpy(&v, p + n - 8, 8);
        return v >> (8 * (8 - n));
      }
      const auto byte = [p](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])); };
      if (n >= 4) {  // two words of four that overlap
        std::uint32_t low, high;
        std::memcpy(&low, p, 4);
        std::memcpy(&high, p + n - 4, 4);
        return low | (static_cast<std::uint64_t>(high) << (8 * (n - 4)));
      }
      return byte(0) | (byte(n / 2) << (8 * (n / 2))) | (byte(n - 1) << (8 * (n - 1)));
    }
    std::uint64_t v = 0;
    std::memcpy(&v, p, n);
    return v;
  }

  // A slot holds where its string is, so a lookup reads the slot and the string's bytes,
  // nothing between (a table of a million strings misses the cache on each).
  struct Slot {
    std::uint32_t id_plus_one = 0;  // 0: empty
    std::uint32_t check = 0;        // the hash's high half, to skip most comparisons
    std::uint32_t begin = 0, size = 0;  // the string in bytes_
  };
  static std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
    __extension__ typedef unsigned __int128 u128;
    const u128 p = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
  }
  // The slot a hash's probe starts at: its top bits, which the slot's `check` holds, so
  // that growing places each slot again from `check` alone, in about the order it was in,
  // without reading the strings. Only with slots.
  std::size_t home(std::uint64_t h) const noexcept { return static_cast<std::size_t>(h >> shift_); }
  // id + 1 of `value`, or 0.
  std::uint32_t lookup(std::string_view value, std::uint64_t h) const noexcept {
    if (slots_.empty()) return 0;
    const std::size_t mask = slots_.size() - 1;
    const auto check = static_cast<std::uint32_t>(h >> 32);
    for (std::size_t i = home(h);; i = (i + 1) & mask) {
      const Slot s = slots_[i];
      if (s.id_plus_one == 0) return 0;
      if (s.check == check && s.size == value.size() && detail::same_bytes(bytes_.data() + s.begin, value.data(), value.size()))
        return s.id_plus_one;
    }
  }
  std::uint32_t insert(std::string_view value, std::uint64_t h);
  void place(Slot slot, std::uint64_t h);
  void grow();

  std::string bytes_;
  std::vector<std::uint32_t> offsets_{0};
  std::vector<Slot> slots_;            // open addressing, at most half full
  unsigned shift_ = 64;                // 64 - log2(slots_.size())
};

APPORTION_END_NAMESPACE
