// `csv`: generic records from a CSV file with a header row. `tags` and `measures` name the
// columns to use; every other column is skipped without being copied.
//
// The file is scanned in place with string_views (RFC 4180: quoted fields with "" escapes,
// delimiters and line breaks inside quotes, LF, CRLF or a lone CR, an optional UTF-8 BOM),
// either over the whole text or block by block from a stream, so a file read from disk
// needs memory for one block and, with `aggregate`, for one sum per group of rows.

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <future>
#include <istream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "apportion/columnar.hpp"
#include "csv_reader.hpp"
#include "formats.hpp"

#if defined(__SSE2__) && defined(__x86_64__)
#include <emmintrin.h>
#define APPORTION_CSV_SSE2 1
#endif

APPORTION_BEGIN_NAMESPACE
namespace ingest {

namespace {
std::atomic<std::size_t> default_chunk_size{std::size_t{1} << 20};  // 1 MiB blocks
std::atomic<unsigned> csv_threads_override{0};                      // 0: the machine's
}  // namespace

std::size_t set_csv_chunk_size(std::size_t bytes) {
  return default_chunk_size.exchange(std::max<std::size_t>(bytes, 1));
}

unsigned set_csv_threads(unsigned threads) { return csv_threads_override.exchange(threads); }

namespace {

// ---- Input: the whole text, or blocks from a stream -----------------------------------------

class Input {
 public:
  explicit Input(std::string_view text, bool strip_byte_order_mark = true)
      : data_(text.data()), size_(text.size()), eof_(true) {
    if (strip_byte_order_mark) strip_bom();
    ascii_ = all_ascii();
  }
  explicit Input(std::istream& in) : in_(&in), chunk_size_(default_chunk_size.load()) {
    buffer_.resize(std::max<std::size_t>(chunk_size_, 3));
    // The first three bytes decide the byte order mark, whatever the block size.
    while (size_ < 3 && !eof_) read_some(3);
    strip_bom();
    ascii_ = all_ascii();
  }

  const char* begin() const noexcept { return data_ + pos_; }
  const char* end() const noexcept { return data_ + size_; }
  bool eof() const noexcept { return eof_; }
  void advance_to(const char* p) noexcept { pos_ = static_cast<std::size_t>(p - data_); }
  // True when every byte in the buffer is ASCII, so every cell in it is UTF-8 without a
  // check of its own: one pass over each block instead of one per cell.
  bool ascii() const noexcept { return ascii_; }

  // Appends up to `bytes` of what is not read yet to `out`, and counts them read. False
  // when nothing more follows.
  bool read_into(std::string& out, std::size_t bytes) {
    const std::size_t buffered = std::min(bytes, size_ - pos_);
    out.append(data_ + pos_, buffered);
    pos_ += buffered;
    if (buffered < bytes && !eof_) {
      const std::size_t at = out.size();
      out.resize(at + (bytes - buffered));
      in_->read(out.data() + at, static_cast<std::streamsize>(bytes - buffered));
      const auto got = static_cast<std::size_t>(in_->gcount());
      out.resize(at + got);
      if (got < bytes - buffered || !*in_) eof_ = true;
    }
    return pos_ < size_ || !eof_;
  }

  // Gives back `bytes`, the last that read_into() gave, to be read again.
  void unread(std::string_view bytes) {
    if (!in_) {  // the text: they are still there
      pos_ -= bytes.size();
      return;
    }
    std::string again(bytes);
    again.append(data_ + pos_, size_ - pos_);
    buffer_ = std::move(again);
    if (buffer_.size() < chunk_size_) buffer_.resize(chunk_size_);
    size_ = bytes.size() + (size_ - pos_);
    pos_ = 0;
    data_ = buffer_.data();
    ascii_ = all_ascii();
  }

  // Keeps the unread bytes and appends the next block (growing the buffer when a row is
  // longer than it). False when there is nothing more to read.
  bool refill() {
    if (eof_) return false;
    const std::size_t kept = size_ - pos_;
    if (pos_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + pos_, kept);
      pos_ = 0;
      size_ = kept;
    }
    if (size_ + chunk_size_ > buffer_.size()) buffer_.resize(std::max(buffer_.size() * 2, size_ + chunk_size_));
    read_some(size_ + chunk_size_);
    return true;
  }

 private:
  void read_some(std::size_t until) {
    in_->read(buffer_.data() + size_, static_cast<std::streamsize>(until - size_));
    const auto got = static_cast<std::size_t>(in_->gcount());
    size_ += got;
    data_ = buffer_.data();
    if (got == 0 || !*in_) eof_ = true;
    ascii_ = all_ascii();
  }
  bool all_ascii() const noexcept {
    std::uint64_t high = 0;
    std::size_t i = pos_;
    for (; i + 8 <= size_; i += 8) {
      std::uint64_t x;
      std::memcpy(&x, data_ + i, 8);
      high |= x;
    }
    for (; i < size_; ++i) high |= static_cast<unsigned char>(data_[i]);
    return (high & 0x8080808080808080ULL) == 0;
  }
  void strip_bom() {
    if (size_ >= 3 && std::memcmp(data_, "\xEF\xBB\xBF", 3) == 0) pos_ = 3;
  }

  std::istream* in_ = nullptr;
  std::size_t chunk_size_ = 0;
  std::string buffer_;
  const char* data_ = nullptr;
  std::size_t size_ = 0, pos_ = 0;
  bool eof_ = false, ascii_ = false;
};

// ---- The scanner ------------------------------------------------------------------------------

// One field of a row as it stands in the buffer: for a quoted field, the text between the
// quotes with its "" escapes still doubled (`escaped` says whether there are any).
struct Field {
  std::string_view text;
  bool escaped = false;
};

std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    out += text[i];
    if (text[i] == '"') ++i;  // the second quote of a pair
  }
  return out;
}

constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
inline std::uint64_t bytes_equal(std::uint64_t x, std::uint64_t broadcast) {
  const std::uint64_t y = x ^ broadcast;
  return (y - ones) & ~y & highs;  // exact at the lowest match, which is all we use
}

class Scanner {
 public:
  Scanner(std::string source, char delimiter, std::size_t first_line = 1)
      : source_(std::move(source)), delimiter_(delimiter), line_(first_line), row_line_(first_line) {}

  // "<source> line N".
  std::string where(std::size_t line) const { return source_ + " line " + std::to_string(line); }
  const std::string& source() const noexcept { return source_; }

  // Skips blank lines; false at the end of the input.
  bool skip_blank(Input& in) {
    for (;;) {
      const char* p = in.begin();
      const char* end = in.end();
      while (p < end && (*p == '\n' || *p == '\r')) {
        if (*p == '\n') ++line_;
        ++p;
      }
      in.advance_to(p);
      if (p < end) return true;
      if (!in.refill()) return false;
    }
  }

  // Scans the next row (after skip_blank returned true). on_field(index, Field) is called
  // for each field; the row is complete when this returns, and its first line is row_line().
  // Fields are views into the input, valid until the next call.
  template <class OnField>
  void row(Input& in, OnField&& on_field) {
    for (;;) {
      std::size_t line = line_;
      const char* next = scan(in.begin(), in.end(), in.eof(), line, on_field);
      if (next != nullptr) {
        row_line_ = line_;
        line_ = line;
        in.advance_to(next);
        return;
      }
      if (!in.refill()) throw std::logic_error("csv: a row needs more input at the end of the file");
    }
  }
  std::size_t row_line() const noexcept { return row_line_; }
  // The line the next row starts on (or after blank lines, on).
  std::size_t next_line() const noexcept { return line_; }

 private:
  bool at_field_end(char c) const noexcept { return c == delimiter_ || c == '\n' || c == '\r'; }

  // Returns the position after the row, or nullptr when the buffer ends before the row does
  // and more input may follow. `line` counts the row's line breaks.
  template <class OnField>
  const char* scan(const char* p, const char* end, bool eof, std::size_t& line, OnField& on_field) const {
    const std::uint64_t delim = ones * static_cast<unsigned char>(delimiter_), lf = ones * '\n', cr = ones * '\r',
                        quote = ones * '"';
    for (std::size_t index = 0;; ++index) {
      Field field;
      if (p < end && *p == '"') {
        const std::size_t opened = line;
        const char* q = p + 1;
        for (;;) {
          const char* close = static_cast<const char*>(std::memchr(q, '"', static_cast<std::size_t>(end - q)));
          const char* upto = close ? close : end;
          line += static_cast<std::size_t>(std::count(q, upto, '\n'));
          if (!close) {
            if (!eof) return nullptr;
            throw SpecError(where(opened), "a quoted field is never closed");
          }
          if (close + 1 == end && !eof) return nullptr;  // "" or the end of the field: cannot tell yet
          if (close + 1 < end && close[1] == '"') {
            field.escaped = true;
            q = close + 2;
            continue;
          }
          field.text = std::string_view(p + 1, static_cast<std::size_t>(close - p - 1));
          p = close + 1;
          break;
        }
        if (p < end && !at_field_end(*p))
          throw SpecError(where(line),
                          "unexpected character after a closing quote (field " + std::to_string(index + 1) + ")");
      } else {
        const char* start = p;
        for (;;) {
          while (end - p >= 8) {
            std::uint64_t x;
            std::memcpy(&x, p, 8);
            const std::uint64_t hit = bytes_equal(x, delim) | bytes_equal(x, lf) | bytes_equal(x, cr) | bytes_equal(x, quote);
            if (hit) {
              p += __builtin_ctzll(hit) / 8;
              break;
            }
            p += 8;
          }
          while (p < end && !at_field_end(*p) && *p != '"') ++p;
          if (p < end && *p == '"')
            throw SpecError(where(line), "a quote inside an unquoted field (field " + std::to_string(index + 1) + ")");
          if (p < end || eof) break;
          return nullptr;
        }
        field.text = std::string_view(start, static_cast<std::size_t>(p - start));
      }
      on_field(index, field);
      if (p >= end) return p;  // the end of the input (eof: checked above)
      const char c = *p;
      if (c == delimiter_) {
        ++p;
        continue;
      }
      // A line end: \n, \r\n, or a lone \r.
      if (c == '\r') {
        ++p;
        if (p == end && !eof) return nullptr;
      }
      if (p < end && *p == '\n') ++p;
      ++line;
      return p;
    }
  }

  std::string source_;
  char delimiter_;
  std::size_t line_ = 1, row_line_ = 1;
};

// ---- Cells ------------------------------------------------------------------------------------

// A measure cell: an exact, non-negative decimal in JSON number syntax, as raw fixed point.
int128 read_measure_cell(std::string_view cell, const std::string& column) {
  Decimal d;
  try {
    d = Decimal::parse(cell);
  } catch (const OverflowError&) {
    throw SpecError("", column + ": out of range (got \"" + std::string(cell) + "\")");
  } catch (const std::exception&) {
    throw SpecError("", column + ": not an exact decimal number (got \"" + std::string(cell) + "\")");
  }
  if (d.signum() < 0) throw SpecError("", column + ": must not be negative (got \"" + std::string(cell) + "\")");
  return d.raw();
}

// ---- The format ---------------------------------------------------------------------------------

struct Options {
  std::vector<std::string> tags, measures;
  std::optional<std::string> pool, id;
  char delimiter = ',';
  bool aggregate = false;
};

Options read_options(ObjectReader& options) {
  Options o;
  if (const Value* v = options.optional("tags")) o.tags = read_names(*v, options.path("tags"));
  if (const Value* v = options.optional("measures")) o.measures = read_names(*v, options.path("measures"));
  if (const Value* v = options.optional("pool")) {
    o.pool = read_string(*v, options.path("pool"));
    if (o.pool->empty()) throw SpecError(options.path("pool"), "must not be empty");
  }
  if (const Value* v = options.optional("id")) o.id = read_string(*v, options.path("id"));
  if (const Value* v = options.optional("delimiter")) {
    std::string d = read_string(*v, options.path("delimiter"));
    if (d == "\\t" || d == "tab") d = "\t";
    if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r")
      throw SpecError(options.path("delimiter"), "must be one character other than a quote or a line break");
    o.delimiter = d[0];
  }
  if (const Value* v = options.optional("aggregate")) o.aggregate = read_flag(*v, options.path("aggregate"));
  if (o.aggregate && o.id)
    throw SpecError(options.path("id"), "cannot be used with aggregate (aggregated records are sums of rows, with no ids)");
  return o;
}

void check_unique(const std::vector<std::string>& names, const std::string& path) {
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (names[i] == names[j]) throw SpecError(path, "column \"" + names[i] + "\" is named twice");
}

// The index of column `name` in the header; SpecError naming the missing column (and the
// option that asked for it) when it is not there, or is there twice.
std::size_t column_of(const Scanner& scanner, std::size_t header_line, const std::vector<std::string>& header,
                      std::string_view name, std::string_view option) {
  std::size_t found = header.size();
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header[i] != name) continue;
    if (found != header.size())
      throw SpecError(scanner.where(header_line), "column \"" + std::string(name) + "\" appears twice in the header");
    found = i;
  }
  if (found == header.size())
    throw SpecError(scanner.where(header_line),
                    "no column \"" + std::string(name) + "\" (named by " + std::string(option) + ") in the header");
  return found;
}

std::string width_error(std::size_t fields, std::size_t header) {
  return "has " + std::to_string(fields) + " fields, the header has " + std::to_string(header);
}

// What a column is used for: role >= 0 is a slot in the row's cells.
constexpr int unused = -1;

// A cell's text: the view itself, or its unescaped copy in `into`.
std::string_view cell_text(const Field& f, std::string& into) {
  if (!f.escaped) return f.text;
  into = unescape(f.text);
  return into;
}

// A tag or id cell's text, refused unless it is UTF-8 (measures are checked as numbers).
std::string_view utf8_cell(const Input& in, std::string_view text, const std::string& column) {
  if (in.ascii()) return text;
  if (const std::string problem = utf8_problem(text); !problem.empty()) throw SpecError("", column + ": " + problem);
  return text;
}

// ---- Summing rows through the plan, in parts ---------------------------------------------------

// What every part of a file summed through the plan (or with `aggregate`) shares: the
// columns and what is kept of them.
struct SummedColumns {
  const Options& o;
  const std::string& source;
  std::size_t width = 0;
  std::vector<int> role;
  std::vector<bool> keep_tag, keep_measure;
  bool planned = false, skipping = false;
};

constexpr std::size_t no_line = static_cast<std::size_t>(-1);

// A run of whole rows summed: the file, or a part of it read by a worker thread.
struct SummedPart {
  PartialAggregate aggregate;
  std::vector<std::size_t> first_line;  // planned: each group's first row, its origin
  std::vector<Record> whole;            // planned: rows whose sum would leave the Decimal range
  std::size_t rows = 0, made = 0;
  std::vector<std::pair<std::string, std::string>> row_errors;  // (where, what), in file order
  std::exception_ptr stopped;  // what ended the part early: the text is not CSV, or a row error not skipped
  std::size_t end_line = 0;    // the line after the part's last row
};

// Sums the rows left in `in` into a part (`part`, to go on with one), rows with equal tags
// into one group. A row's kept tag values, each with its length in front, key a cache whose
// ids are the groups' ids, so a known group costs one lookup. Rows are read in batches and
// their groups looked up a batch at a time (slots, then strings, then sums prefetched), so
// that with many groups the cache misses of a batch overlap instead of adding up. Reads up
// to the first row error unless skipping; throws nothing.
SummedPart sum_rows(Input& in, Scanner& scanner, const SummedColumns& columns, SummedPart part = {}) noexcept {
  try {
    const Options& o = columns.o;
    const std::size_t n_tags = o.tags.size(), n_measures = o.measures.size(), width = columns.width;
    std::vector<Field> cells(n_tags + n_measures + (o.id ? 1 : 0));
    std::size_t fields = 0;
    const auto on_field = [&](std::size_t index, const Field& f) {
      fields = index + 1;
      if (index < width && columns.role[index] != unused) cells[static_cast<std::size_t>(columns.role[index])] = f;
    };
    std::string scratch;
    PartialAggregate& aggregate = part.aggregate;
    const std::uint32_t pool_id = aggregate.pool_id(o.pool ? std::optional<std::string_view>(*o.pool) : std::nullopt);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> key_order;  // (tag key id, tag index)
    for (std::size_t t = 0; t < n_tags; ++t)
      if (columns.keep_tag[t]) key_order.emplace_back(aggregate.tag_key_id(o.tags[t]), static_cast<std::uint32_t>(t));
    std::sort(key_order.begin(), key_order.end());
    std::vector<std::uint32_t> measure_ids;
    for (const std::string& m : o.measures) measure_ids.push_back(aggregate.measure_id(m));
    // A row's measures are checked as a record's are (measure_problem), before they are summed.
    Amounts row_measures;
    std::vector<bool> checked;
    for (const std::string& m : o.measures)
      checked.push_back(m == "utilization" || m == "tokens_cached" || m == "tokens_prompt");
    const bool any_checked = std::find(checked.begin(), checked.end(), true) != checked.end();

    Dictionary cache;
    std::string key;
    const auto append_cell = [](std::string& to, std::string_view text) {
      const auto length = static_cast<std::uint32_t>(text.size());
      to.append(reinterpret_cast<const char*>(&length), sizeof length);
      to.append(text);
    };
    // The kept tags' values of a key, by tag index (unkept ones are left as they were).
    std::vector<std::string_view> tag_text(n_tags);
    const auto decode = [&](std::string_view k) {
      std::size_t at = 0;
      for (std::size_t t = 0; t < n_tags; ++t) {
        if (!columns.keep_tag[t]) continue;
        std::uint32_t length;
        std::memcpy(&length, k.data() + at, sizeof length);
        tag_text[t] = k.substr(at + sizeof length, length);
        at += sizeof length + length;
      }
    };
    // Going on from groups summed before: each is keyed first as its rows are, so that the
    // cache's ids stay the groups' (a value absent from a group is an empty cell).
    std::vector<std::uint32_t> key_id_of_tag(n_tags);
    for (const auto& [key_id, t] : key_order) key_id_of_tag[t] = key_id;
    for (std::uint32_t g = 0; g < aggregate.groups(); ++g) {
      const std::vector<std::uint32_t> encoded = aggregate.group_key(g);
      key.clear();
      for (std::size_t t = 0; t < n_tags; ++t) {
        if (!columns.keep_tag[t]) continue;
        const std::uint32_t key_id = key_id_of_tag[t];
        std::string_view value;
        for (std::size_t i = 1; i + 1 < encoded.size(); i += 2)
          if (encoded[i] == key_id) value = aggregate.tag_value(encoded[i + 1]);
        append_cell(key, value);
      }
      if (cache.intern(key) != g) throw std::logic_error("csv: a group summed before is keyed twice");
    }
    // Planned: groups of no row added yet but the one that made them (their rows left the
    // range), whose first line is that of the next row added.
    std::set<std::uint32_t> without_first_line;
    if (columns.planned)
      for (std::uint32_t g = 0; g < aggregate.groups(); ++g)
        if (g >= part.first_line.size() || part.first_line[g] == no_line) without_first_line.insert(g);
    std::vector<std::string_view> name_of_measure(aggregate.measures());
    for (std::size_t m = 0; m < n_measures; ++m) name_of_measure[measure_ids[m]] = o.measures[m];

    // The rows read and not yet added: their keys and measures copied out of the input,
    // which the next row may overwrite.
    struct Pending {
      std::size_t key_at, key_size, values_at, values_size, line;
      std::uint64_t hash;
      std::uint32_t group;
      bool new_group;
    };
    constexpr std::size_t batch_rows = 64;
    std::vector<Pending> batch;
    batch.reserve(batch_rows);
    std::string batch_keys;
    std::vector<std::pair<std::uint32_t, int128>> batch_values;
    std::vector<std::uint32_t> encoded;
    bool stop = false;  // a row error not skipped: read no further
    const auto error = [&](std::size_t line, const char* what) {
      part.row_errors.emplace_back(scanner.where(line), what);
      stop = stop || !columns.skipping;
    };
    const auto add_batch = [&] {
      for (const Pending& p : batch) cache.prefetch_string(std::string_view(batch_keys).substr(p.key_at, p.key_size), p.hash);
      for (Pending& p : batch) {
        const std::string_view k = std::string_view(batch_keys).substr(p.key_at, p.key_size);
        p.group = cache.intern(k, p.hash);
        p.new_group = p.group == aggregate.groups();
        if (p.new_group) {
          decode(k);
          encoded.assign(1, pool_id);
          for (const auto& [key_id, t] : key_order)
            if (!tag_text[t].empty()) {
              encoded.push_back(key_id);
              encoded.push_back(aggregate.tag_value_id(tag_text[t]));
            }
          if (aggregate.group(encoded) != p.group) throw std::logic_error("csv: the row cache and the groups disagree");
        } else {
          aggregate.prefetch_group(p.group);
        }
      }
      for (const Pending& p : batch) {
        const std::span<const std::pair<std::uint32_t, int128>> values(batch_values.data() + p.values_at, p.values_size);
        try {
          aggregate.add_to_group(p.group, values);
        } catch (const std::overflow_error& e) {
          if (!columns.planned) {
            error(p.line, e.what());
            if (stop) break;
            continue;
          }
          if (p.new_group) without_first_line.insert(p.group);
          // The engine sums such a row exactly: it stays a record of its own.
          decode(std::string_view(batch_keys).substr(p.key_at, p.key_size));
          Record r;
          std::vector<Tags::Pair> pairs;
          for (std::size_t t = 0; t < n_tags; ++t)
            if (columns.keep_tag[t] && !tag_text[t].empty()) pairs.emplace_back(o.tags[t], std::string(tag_text[t]));
          r.tags = Tags(std::move(pairs));
          for (const auto& [m, raw] : values) r.measures.emplace(std::string(name_of_measure[m]), Decimal::from_raw(raw));
          r.pool = o.pool;
          r.origin = scanner.where(p.line);
          part.whole.push_back(std::move(r));
          ++part.made;
          continue;
        }
        // A group's first line is set once, when its first row is added (nearly always the
        // row that made it), not looked up for every row.
        if (columns.planned && (p.new_group || (!without_first_line.empty() && without_first_line.erase(p.group)))) {
          if (part.first_line.size() <= p.group) part.first_line.resize(p.group + 1, no_line);
          part.first_line[p.group] = p.line;
        }
        ++part.made;
      }
      batch.clear();
      batch_keys.clear();
      batch_values.clear();
      // The thread's budget, when it has one: a worker's part is checked as it is added.
      check_record_budget(aggregate.groups() + part.whole.size());
    };

    // A row that cannot be read: what the batch holds came before it, and is added first,
    // so that errors stay in file order.
    const auto row_failed = [&](const char* what) {
      batch_values.resize(batch.empty() ? 0 : batch.back().values_at + batch.back().values_size);
      batch_keys.resize(batch.empty() ? 0 : batch.back().key_at + batch.back().key_size);
      add_batch();
      if (!stop) error(scanner.row_line(), what);
    };
    std::vector<std::string> unescaped(n_tags);
    while (!stop && scanner.skip_blank(in)) {
      try {
        scanner.row(in, on_field);
      } catch (...) {  // text that is not CSV ends the part, after the rows before it
        add_batch();
        throw;
      }
      ++part.rows;
      try {
        if (fields != width) throw SpecError("", width_error(fields, width));
        const std::size_t values_at = batch_values.size();
        row_measures.clear();
        for (std::size_t m = 0; m < n_measures; ++m) {
          const Field& c = cells[n_tags + m];
          if (c.text.empty()) continue;
          const int128 raw = read_measure_cell(cell_text(c, scratch), o.measures[m]);
          if (columns.keep_measure[m]) batch_values.emplace_back(measure_ids[m], raw);
          if (checked[m]) row_measures.emplace(o.measures[m], Decimal::from_raw(raw));
        }
        if (any_checked)
          if (const auto problem = measure_problem(row_measures)) throw SpecError("", problem->first + ": " + problem->second);
        const std::size_t key_at = batch_keys.size();
        for (std::size_t t = 0; t < n_tags; ++t) {
          const std::string_view text = utf8_cell(in, cell_text(cells[t], unescaped[t]), o.tags[t]);
          if (columns.keep_tag[t]) append_cell(batch_keys, text);
        }
        const std::size_t key_size = batch_keys.size() - key_at;
        const std::uint64_t hash = Dictionary::hash(std::string_view(batch_keys).substr(key_at, key_size));
        cache.prefetch_slot(hash);
        batch.push_back({key_at, key_size, values_at, batch_values.size() - values_at, scanner.row_line(), hash, 0, false});
      } catch (const SpecError& e) {
        row_failed(e.what());
      } catch (const std::overflow_error& e) {
        row_failed(e.what());
      }
      if (batch.size() == batch_rows) add_batch();
    }
    if (!stop) add_batch();
  } catch (...) {
    part.stopped = std::current_exception();
  }
  part.end_line = scanner.next_line();
  return part;
}

// Adds `part`, the next run of the file's rows, to `total`: its row errors (skipped, or
// thrown: the first in the file is), then its groups. A part whose sums would leave the
// range when added keeps its groups as records of their own, which the engine sums exactly.
void add_part(SummedPart&& part, SummedPart& total, IngestResult& result, const RowErrors& errors,
              const SummedColumns& columns, const Scanner& scanner) {
  for (const auto& [where, what] : part.row_errors) errors.skip(result, where, what);
  if (part.stopped) std::rethrow_exception(part.stopped);
  total.rows += part.rows;
  total.made += part.made;
  if (total.aggregate.groups() == 0 && total.whole.empty()) {  // the first part: nothing to merge into
    total.aggregate = std::move(part.aggregate);
    total.first_line = std::move(part.first_line);
    total.whole = std::move(part.whole);
    return;
  }
  std::vector<std::uint32_t> ids;
  try {
    total.aggregate.merge(part.aggregate, &ids);
  } catch (const std::overflow_error&) {
    for (std::uint32_t g = 0; g < part.first_line.size(); ++g) {
      if (part.first_line[g] == no_line) continue;
      Record r = part.aggregate.group_record(g);
      r.pool = columns.o.pool;
      r.origin = scanner.where(part.first_line[g]);
      total.whole.push_back(std::move(r));
    }
    ids.clear();
  }
  for (std::uint32_t g = 0; g < ids.size() && g < part.first_line.size(); ++g) {
    if (part.first_line[g] == no_line) continue;
    if (total.first_line.size() <= ids[g]) total.first_line.resize(ids[g] + 1, no_line);
    if (total.first_line[ids[g]] == no_line) total.first_line[ids[g]] = part.first_line[g];
  }
  for (Record& r : part.whole) total.whole.push_back(std::move(r));
}

// Where the rows of `text` (which starts at a row) may be cut so that both sides are whole
// rows: after its last line break outside quotes. `lines`: the line breaks before the cut,
// which is what the scanner counts there unless a lone CR ends a line (`regular` false).
struct Cut {
  std::size_t at = 0, lines = 0;
  bool regular = true;
};

// A part's text at a glance, in one pass: whether it holds a quote or a CR (then the cut
// must follow quotes), and else its line feeds and where the last one is.
struct Glance {
  bool plain = true;  // no '"', no '\r'
  std::size_t line_feeds = 0, last_line_feed = std::string_view::npos;
};

Glance glance(std::string_view text) noexcept {
  Glance g;
#if defined(APPORTION_CSV_SSE2)
  std::size_t i = 0;
  const __m128i lf = _mm_set1_epi8('\n'), quote = _mm_set1_epi8('"'), cr = _mm_set1_epi8('\r'), zero = _mm_setzero_si128();
  __m128i feeds_counted = zero;  // two 64-bit sums (x86-64 has no popcount without -mpopcnt)
  for (; i + 16 <= text.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(text.data() + i));
    if (_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, cr))) != 0) return {false, 0, 0};
    const __m128i is_feed = _mm_cmpeq_epi8(v, lf);  // 0xFF at each LF
    if (const auto feeds = static_cast<unsigned>(_mm_movemask_epi8(is_feed))) {
      feeds_counted = _mm_add_epi64(feeds_counted, _mm_sad_epu8(_mm_sub_epi8(zero, is_feed), zero));
      g.last_line_feed = i + 31 - static_cast<std::size_t>(std::countl_zero(feeds));  // its highest bit
    }
  }
  g.line_feeds = static_cast<std::size_t>(_mm_cvtsi128_si64(feeds_counted)) +
                 static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(feeds_counted, feeds_counted)));
  for (; i < text.size(); ++i) {
    if (text[i] == '"' || text[i] == '\r') return {false, 0, 0};
    if (text[i] == '\n') {
      ++g.line_feeds;
      g.last_line_feed = i;
    }
  }
#else  // the C library's searches, and line feeds counted eight bytes at a time
  if (std::memchr(text.data(), '"', text.size()) || std::memchr(text.data(), '\r', text.size())) return {false, 0, 0};
  g.last_line_feed = text.rfind('\n');
  constexpr std::uint64_t low7 = 0x7F7F7F7F7F7F7F7FULL;
  std::size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, text.data() + i, 8);
    const std::uint64_t y = x ^ (ones * '\n');                    // zero bytes where x has LF
    const std::uint64_t hit = ~(((y & low7) + low7) | y | low7);  // exactly the high bit of each LF byte
    g.line_feeds += static_cast<std::size_t>(((hit >> 7) * ones) >> 56);  // the bytes' 0s and 1s summed
  }
  for (; i < text.size(); ++i) g.line_feeds += text[i] == '\n';
#endif
  return g;
}

Cut cut_rows(std::string_view text) {
  Cut cut;
  if (const Glance g = glance(text); g.plain) {  // no quotes, no CR: after the last LF
    if (g.last_line_feed != std::string_view::npos) cut = {g.last_line_feed + 1, g.line_feeds, true};
    return cut;
  }
  bool quoted = false, lone_cr = false;
  std::size_t lines = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      quoted = !quoted;  // "" inside quotes toggles twice
    } else if (c == '\n') {
      ++lines;
      if (!quoted) cut = {i + 1, lines, !lone_cr};
    } else if (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) {
      lone_cr = true;
    }
  }
  return cut;
}

}  // namespace

unsigned reading_threads() {
  if (const unsigned forced = csv_threads_override.load()) return forced;
  static const unsigned threads = [] {
    if (const char* env = std::getenv("APPORTION_THREADS")) {
      char* end = nullptr;
      const unsigned long n = std::strtoul(env, &end, 10);
      if (end != env && *end == '\0' && n >= 1) return static_cast<unsigned>(std::min<unsigned long>(n, 64));
    }
    return std::clamp(std::thread::hardware_concurrency(), 1u, 8u);
  }();
  return threads;
}

namespace {

// Sums the rest of the file in parts of whole rows (four blocks each, so that tests with
// tiny blocks cut it into many), `threads` at a time, each on a thread of its own, added to
// `total` in file order: the same groups, first lines, row errors and counts as one pass,
// so the same records and bytes.
void sum_in_parts(Input& in, std::size_t first_line, const SummedColumns& columns, unsigned threads, SummedPart& total,
                  IngestResult& result, const RowErrors& errors, const Scanner& scanner) {
  const std::size_t part_size = 4 * default_chunk_size.load();
  const auto sum_part = [&columns](std::string_view text, std::size_t line) {
    Input part_in(text, /*strip_byte_order_mark=*/false);
    Scanner part_scanner(columns.source, columns.o.delimiter, line);
    return sum_rows(part_in, part_scanner, columns);
  };
  // A part in flight: its text, its sums to come and the line after it. The text is declared
  // first so that it outlives the future, whose destructor waits for the part's reader; a
  // deque does not move what it holds.
  struct Running {
    std::string text;
    std::size_t next_line;
    std::future<SummedPart> summed;
  };
  std::deque<Running> running;
  // The texts of parts summed, to hold the next parts: the same few buffers all the way, so
  // that memory stays as it was after the first parts, whatever the file's length.
  std::vector<std::string> spare;
  // Rows that are mostly groups of their own gain nothing from parts, whose groups must
  // then be merged one by one: the rest of the file is read in one pass.
  bool one_pass = false;
  const auto add_oldest = [&] {
    SummedPart part = running.front().summed.get();
    const std::size_t next = running.front().next_line;
    spare.push_back(std::move(running.front().text));
    running.pop_front();
    if (!part.stopped && part.end_line != next && (columns.skipping || part.row_errors.empty()))
      throw std::logic_error("csv: a part of the file ended at line " + std::to_string(part.end_line) + ", not " +
                             std::to_string(next));
    one_pass = one_pass || part.aggregate.groups() * 4 > part.rows;
    add_part(std::move(part), total, result, errors, columns, scanner);
    check_record_budget(total.aggregate.groups() + total.whole.size());
  };
  std::string pending;
  std::size_t line = first_line, want = part_size;
  bool more = true;
  while (more || !pending.empty()) {
    if (one_pass) {
      while (!running.empty()) add_oldest();
      spare = {};  // the parts' buffers: not needed again
      in.unread(pending);
      Scanner rest(columns.source, columns.o.delimiter, line);
      SummedPart all = sum_rows(in, rest, columns, std::move(total));  // on from what the parts summed
      total = SummedPart();
      add_part(std::move(all), total, result, errors, columns, scanner);
      return;
    }
    if (more && pending.size() < want) {
      more = in.read_into(pending, want - pending.size());
      continue;
    }
    Cut cut = more ? cut_rows(pending) : Cut{pending.size(), 0, false};  // the last part: its lines are not needed
    if (cut.at == 0) {  // a row longer than a part
      want *= 2;
      continue;
    }
    want = part_size;
    std::string rest;  // part of a row: short
    if (!spare.empty()) {
      rest = std::move(spare.back());
      spare.pop_back();
    }
    rest.assign(pending, cut.at);
    pending.resize(cut.at);
    Running& part = running.emplace_back(Running{std::move(pending), line, {}});
    pending = std::move(rest);
    if (cut.regular) {
      try {
        part.summed = std::async(std::launch::async, sum_part, std::string_view(part.text), line);
      } catch (const std::system_error&) {  // no thread to be had: read it here
      }
    }
    if (part.summed.valid()) {
      line += cut.lines;
    } else {  // read here, after which the line the next part starts on is known
      std::promise<SummedPart> done;
      SummedPart summed = sum_part(part.text, line);
      line = summed.end_line;
      done.set_value(std::move(summed));
      part.summed = done.get_future();
    }
    part.next_line = line;
    while (running.size() >= threads) add_oldest();
  }
  while (!running.empty()) add_oldest();
}

IngestResult read_csv(Input& in, ObjectReader& options, const std::string& source) {
  const Options o = read_options(options);
  const RowErrors errors(options);
  options.finish();  // a misspelt option is reported before any row is read
  check_unique(o.measures, options.path("measures"));
  check_unique(o.tags, options.path("tags"));

  Scanner scanner(source, o.delimiter);
  if (!scanner.skip_blank(in)) throw SpecError(source, "no header row");
  std::vector<std::string> header;
  scanner.row(in, [&](std::size_t index, const Field& f) {
    if (index == 0) header.clear();  // a row scanned again after more input was read
    header.push_back(f.escaped ? unescape(f.text) : std::string(f.text));
  });
  const std::size_t header_line = scanner.row_line();
  const std::size_t width = header.size();
  for (std::size_t i = 0; i < width; ++i)
    if (const std::string problem = utf8_problem(header[i]); !problem.empty())
      throw SpecError(scanner.where(header_line), "column " + std::to_string(i + 1) + " of the header " + problem);
  // Slots: the tags, then the measures, then the id.
  std::vector<int> role(width, unused);
  const std::size_t n_tags = o.tags.size(), n_measures = o.measures.size();
  for (std::size_t t = 0; t < n_tags; ++t) role[column_of(scanner, header_line, header, o.tags[t], "tags")] = static_cast<int>(t);
  for (std::size_t m = 0; m < n_measures; ++m)
    role[column_of(scanner, header_line, header, o.measures[m], "measures")] = static_cast<int>(n_tags + m);
  if (o.id) role[column_of(scanner, header_line, header, *o.id, "id")] = static_cast<int>(n_tags + n_measures);
  std::vector<Field> cells(n_tags + n_measures + (o.id ? 1 : 0));
  std::size_t fields = 0;
  const auto on_field = [&](std::size_t index, const Field& f) {
    fields = index + 1;
    if (index < width && role[index] != unused) cells[static_cast<std::size_t>(role[index])] = f;
  };
  std::string scratch;

  IngestResult result;
  // Read through the spec's plan (plan.hpp): rows summed as they come on the tags and
  // measures the steps read, every column still checked as it would be. Rows with a
  // utilization unit economics reads stay whole, as the plan keeps such records.
  const RecordPlan* plan = current_plan();
  const bool planned = !o.aggregate && !o.id && plan && plan->reduce &&
                       !(plan->measures.contains("utilization") &&
                         std::find(o.measures.begin(), o.measures.end(), "utilization") != o.measures.end());
  if (!o.aggregate && !planned) {
    while (scanner.skip_blank(in)) {
      scanner.row(in, on_field);
      ++result.rows;
      const std::string where = scanner.where(scanner.row_line());
      try {
        if (fields != width) throw SpecError("", width_error(fields, width));
        Record record;
        record.origin = where;
        if (o.id) {
          record.id = std::string(utf8_cell(in, cell_text(cells[n_tags + n_measures], scratch), *o.id));
          if (record.id.empty()) throw SpecError("", *o.id + ": the record id is empty");
        }
        std::vector<Tags::Pair> pairs;
        for (std::size_t t = 0; t < n_tags; ++t)
          if (!cells[t].text.empty())
            pairs.emplace_back(o.tags[t], std::string(utf8_cell(in, cell_text(cells[t], scratch), o.tags[t])));
        record.tags = Tags(std::move(pairs));
        for (std::size_t m = 0; m < n_measures; ++m) {
          const Field& c = cells[n_tags + m];
          if (!c.text.empty())
            record.measures.emplace(o.measures[m],
                                    Decimal::from_raw(read_measure_cell(cell_text(c, scratch), o.measures[m])));
        }
        if (const auto problem = measure_problem(record.measures)) throw SpecError("", problem->first + ": " + problem->second);
        record.pool = o.pool;
        result.records.push_back(std::move(record));
      } catch (const SpecError& e) {
        errors.skip(result, where, e.what());
      }
      if ((result.records.size() & 0xfff) == 0) check_record_budget(result.records.size());
    }
    return result;
  }

  // Summed: through the plan (on the tags and measures the steps read), or with `aggregate`.
  std::vector<bool> keep_tag(n_tags, true), keep_measure(n_measures, true);
  if (planned) {
    for (std::size_t t = 0; t < n_tags; ++t) keep_tag[t] = plan->keys.contains(o.tags[t]);
    for (std::size_t m = 0; m < n_measures; ++m) keep_measure[m] = plan->measures.contains(o.measures[m]);
  }
  const SummedColumns columns{o, source, width, role, keep_tag, keep_measure, planned, errors.skipping()};
  SummedPart total;
  // Through the plan, a file is read by every core in parts (the rows summed are the same
  // whatever the parts); with `aggregate` a sum beyond the range is a row error, which
  // needs the row: one pass.
  if (const unsigned threads = planned ? reading_threads() : 1; threads > 1)
    sum_in_parts(in, scanner.next_line(), columns, threads, total, result, errors, scanner);
  else
    add_part(sum_rows(in, scanner, columns), total, result, errors, columns, scanner);
  result.rows += total.rows;
  if (planned) {
    result.records_read = total.made;
    for (std::size_t t = 0; t < n_tags; ++t)
      if (!keep_tag[t]) result.dropped_tags.push_back(o.tags[t]);
    result.records.reserve(total.first_line.size() + total.whole.size());
    for (std::uint32_t g = 0; g < total.first_line.size(); ++g) {
      if (total.first_line[g] == no_line) continue;  // a group whose rows all left the range
      Record r = total.aggregate.group_record(g);
      r.pool = o.pool;
      r.origin = scanner.where(total.first_line[g]);
      result.records.push_back(std::move(r));
    }
    for (Record& r : total.whole) result.records.push_back(std::move(r));
    return result;
  }
  result.records = total.aggregate.to_records(source);
  for (Record& r : result.records) r.pool = o.pool;
  return result;
}

IngestResult parse_csv(std::string_view text, ObjectReader& options, const std::string& source) {
  Input in(text);
  return read_csv(in, options, source);
}

IngestResult parse_csv_stream(std::istream& stream, ObjectReader& options, const std::string& source) {
  Input in(stream);
  return read_csv(in, options, source);
}

}  // namespace

void register_csv(IngestRegistry& registry) {
  registry.add("csv", parse_csv);
  registry.add_stream("csv", parse_csv_stream);
}

}  // namespace ingest
APPORTION_END_NAMESPACE
