#pragma once
// An RFC 4180 CSV reader shared by the CSV-based ingest formats. It walks the text row by
// row without building a table: quoted fields with "" escapes, delimiters and line breaks
// inside quotes, LF or CRLF line ends, an optional UTF-8 byte order mark, and the line
// number of each row's first line for messages. Blank lines are skipped. Text that is not
// CSV (an unterminated quote, characters after a closing quote) is SpecError naming the line.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "apportion/errors.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

// The offset of the first byte of `s` that is not part of well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF), or npos when all of it is.
inline std::size_t invalid_utf8(std::string_view s) noexcept {
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII, eight bytes at a time.
    for (std::uint64_t x; n - i >= 8; i += 8) {
      std::memcpy(&x, s.data() + i, 8);
      if (x & 0x8080808080808080ULL) break;
    }
    if (i == n) break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3;
    else if (c >= 0xF0 && c <= 0xF4) len = 4;
    else return i;
    if (n - i < len) return i;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
      return i;
    i += len;
  }
  return std::string_view::npos;
}

// "" when `s` is well-formed UTF-8, else "is not valid UTF-8 (byte 0xFF at offset 3)".
inline std::string utf8_problem(std::string_view s) {
  const std::size_t at = invalid_utf8(s);
  if (at == std::string_view::npos) return {};
  static constexpr char hex[] = "0123456789ABCDEF";
  const auto b = static_cast<unsigned char>(s[at]);
  return std::string("is not valid UTF-8 (byte 0x") + hex[b >> 4] + hex[b & 15] + " at offset " + std::to_string(at) + ")";
}

struct CsvRow {
  std::vector<std::string> fields;
  std::vector<bool> quoted;  // per field: it was written in quotes (so `"NULL"` is a string)
  std::size_t line = 0;      // 1-based line of the row's first character
};

class CsvReader {
 public:
  CsvReader(std::string_view text, std::string source, char delimiter = ',')
      : text_(text), source_(std::move(source)), delimiter_(delimiter) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);
    if (delimiter_ == '"' || delimiter_ == '\r' || delimiter_ == '\n')
      throw SpecError(source_, "the CSV delimiter may not be a quote or a line break");
  }

  // Reads the next non-blank row into `row`; false at the end of the text.
  bool next(CsvRow& row) {
    // Skip blank lines.
    while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
      if (text_[pos_] == '\n') ++line_;
      ++pos_;
    }
    if (pos_ >= text_.size()) return false;
    row.fields.clear();
    row.quoted.clear();
    row.line = line_;
    std::string field;
    for (;;) {
      field.clear();
      bool quoted = false;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        quoted = true;
        const std::size_t opened = line_;
        ++pos_;
        for (;;) {
          if (pos_ >= text_.size())
            throw SpecError(where(opened), "a quoted field is never closed");
          const char c = text_[pos_++];
          if (c == '"') {
            if (pos_ < text_.size() && text_[pos_] == '"') {
              field += '"';
              ++pos_;
              continue;
            }
            break;
          }
          if (c == '\n') ++line_;
          field += c;
        }
        if (pos_ < text_.size() && !at_field_end())
          throw SpecError(where(line_), "unexpected character after a closing quote (field " +
                                            std::to_string(row.fields.size() + 1) + ")");
      } else {
        while (pos_ < text_.size() && !at_field_end()) {
          if (text_[pos_] == '"')
            throw SpecError(where(line_), "a quote inside an unquoted field (field " +
                                              std::to_string(row.fields.size() + 1) + ")");
          field += text_[pos_++];
        }
      }
      if (const std::string problem = utf8_problem(field); !problem.empty())
        throw SpecError(where(row.line), "field " + std::to_string(row.fields.size() + 1) + " " + problem);
      row.fields.push_back(field);
      row.quoted.push_back(quoted);
      if (pos_ >= text_.size()) return true;
      const char c = text_[pos_];
      if (c == delimiter_) {
        ++pos_;
        continue;
      }
      // A line end: \n, \r\n, or a lone \r.
      if (c == '\r') ++pos_;
      if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++line_;
      return true;
    }
  }

  const std::string& source() const noexcept { return source_; }
  // "<source> line N".
  std::string where(std::size_t line) const { return source_ + " line " + std::to_string(line); }

 private:
  bool at_field_end() const noexcept {
    const char c = text_[pos_];
    return c == delimiter_ || c == '\n' || c == '\r';
  }

  std::string_view text_;
  std::string source_;
  char delimiter_;
  std::size_t pos_ = 0;
  std::size_t line_ = 1;
};

// The index of column `name` in a header row; SpecError("<source> line N", ...) naming the
// missing column (and `option`, the option that asked for it) when it is not there.
inline std::size_t csv_column(const CsvReader& reader, const CsvRow& header, std::string_view name,
                              std::string_view option) {
  std::size_t found = header.fields.size();
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    if (header.fields[i] != name) continue;
    if (found != header.fields.size())
      throw SpecError(reader.where(header.line), "column \"" + std::string(name) + "\" appears twice in the header");
    found = i;
  }
  if (found == header.fields.size())
    throw SpecError(reader.where(header.line),
                    "no column \"" + std::string(name) + "\" (named by " + std::string(option) + ") in the header");
  return found;
}

// A row with as many fields as the header, or SpecError("", ...) saying how many it has.
inline void require_header_width(const CsvRow& row, const CsvRow& header) {
  if (row.fields.size() != header.fields.size())
    throw SpecError("", "has " + std::to_string(row.fields.size()) + " fields, the header has " +
                            std::to_string(header.fields.size()));
}

}  // namespace ingest
APPORTION_END_NAMESPACE
