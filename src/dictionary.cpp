// Dictionary (dictionary.hpp): growing and inserting; lookups are inline in the header.

#include "apportion/dictionary.hpp"

#include <bit>
#include <limits>
#include <stdexcept>

APPORTION_BEGIN_NAMESPACE

void Dictionary::place(Slot slot, std::uint64_t h) {
  const std::size_t mask = slots_.size() - 1;
  std::size_t i = home(h);
  while (slots_[i].id_plus_one != 0) i = (i + 1) & mask;
  slots_[i] = slot;
}

void Dictionary::grow() {
  std::vector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
  old.swap(slots_);
  shift_ = 64 - static_cast<unsigned>(std::countr_zero(slots_.size()));
  if (shift_ >= 32) {
    // A slot's home is the top bits of its hash, all in `check`: old home i becomes 2i or
    // 2i + 1, so the old slots, read in order, are written in order, where hashing the
    // strings again would write all over the new table.
    for (const Slot& s : old)
      if (s.id_plus_one != 0) place(s, static_cast<std::uint64_t>(s.check) << 32);
    return;
  }
  for (std::uint32_t id = 0; id < size(); ++id) {  // over 2^32 slots: `check` is too short
    const std::string_view v = value(id);
    const std::uint64_t h = hash(v);
    place(Slot{id + 1, static_cast<std::uint32_t>(h >> 32), offsets_[id], static_cast<std::uint32_t>(v.size())}, h);
  }
}

std::uint32_t Dictionary::insert(std::string_view value, std::uint64_t h) {
  if (size() >= std::numeric_limits<std::uint32_t>::max() - 1) throw std::length_error("dictionary: too many distinct values");
  if (bytes_.size() + value.size() > std::numeric_limits<std::uint32_t>::max())
    throw std::length_error("dictionary: more than 4 GiB of text");
  if ((size() + 1) * 2 > slots_.size()) grow();
  const auto id = static_cast<std::uint32_t>(size());
  const auto begin = static_cast<std::uint32_t>(bytes_.size());
  bytes_.append(value);
  offsets_.push_back(static_cast<std::uint32_t>(bytes_.size()));
  place(Slot{id + 1, static_cast<std::uint32_t>(h >> 32), begin, static_cast<std::uint32_t>(value.size())}, h);
  return id;
}

APPORTION_END_NAMESPACE
