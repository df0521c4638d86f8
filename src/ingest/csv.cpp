// `csv`: generic records from a CSV file with a header row. `tags` and `measures` name the
// columns to use; every other column is ignored.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "csv_reader.hpp"
#include "formats.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {
namespace {

struct Column {
  std::string name;
  std::size_t index = 0;
};

// A measure cell: an exact, non-negative decimal in JSON number syntax.
Decimal read_measure_cell(const std::string& cell, const std::string& column) {
  Decimal d;
  try {
    d = Decimal::parse(cell);
  } catch (const OverflowError&) {
    throw SpecError("", column + ": out of range (got \"" + cell + "\")");
  } catch (const std::exception&) {
    throw SpecError("", column + ": not an exact decimal number (got \"" + cell + "\")");
  }
  if (d.signum() < 0) throw SpecError("", column + ": must not be negative (got \"" + cell + "\")");
  return d;
}

IngestResult parse_csv(std::string_view text, ObjectReader& options, const std::string& source) {
  std::vector<std::string> tag_names, measure_names;
  if (const Value* v = options.optional("tags")) tag_names = read_names(*v, options.path("tags"));
  if (const Value* v = options.optional("measures")) measure_names = read_names(*v, options.path("measures"));
  std::optional<std::string> pool, id_column;
  if (const Value* v = options.optional("pool")) {
    pool = read_string(*v, options.path("pool"));
    if (pool->empty()) throw SpecError(options.path("pool"), "must not be empty");
  }
  if (const Value* v = options.optional("id")) id_column = read_string(*v, options.path("id"));
  char delimiter = ',';
  if (const Value* v = options.optional("delimiter")) {
    std::string d = read_string(*v, options.path("delimiter"));
    if (d == "\\t" || d == "tab") d = "\t";
    if (d.size() != 1 || d == "\"" || d == "\n" || d == "\r")
      throw SpecError(options.path("delimiter"), "must be one character other than a quote or a line break");
    delimiter = d[0];
  }
  const RowErrors errors(options);
  options.finish();  // a misspelt option is reported before any row is read
  for (std::size_t i = 0; i < measure_names.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (measure_names[i] == measure_names[j])
        throw SpecError(options.path("measures"), "column \"" + measure_names[i] + "\" is named twice");
  for (std::size_t i = 0; i < tag_names.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (tag_names[i] == tag_names[j])
        throw SpecError(options.path("tags"), "column \"" + tag_names[i] + "\" is named twice");

  CsvReader reader(text, source, delimiter);
  CsvRow header;
  if (!reader.next(header)) throw SpecError(source, "no header row");
  std::vector<Column> tags, measures;
  for (const std::string& name : tag_names) tags.push_back({name, csv_column(reader, header, name, "tags")});
  for (const std::string& name : measure_names)
    measures.push_back({name, csv_column(reader, header, name, "measures")});
  std::optional<std::size_t> id_index;
  if (id_column) id_index = csv_column(reader, header, *id_column, "id");

  IngestResult result;
  CsvRow row;
  while (reader.next(row)) {
    const std::string where = reader.where(row.line);
    try {
      require_header_width(row, header);
      Record record;
      record.origin = where;
      if (id_index) {
        record.id = row.fields[*id_index];
        if (record.id.empty()) throw SpecError("", *id_column + ": the record id is empty");
      }
      std::vector<Tags::Pair> pairs;
      for (const Column& c : tags)
        if (!row.fields[c.index].empty()) pairs.emplace_back(c.name, row.fields[c.index]);
      record.tags = Tags(std::move(pairs));
      for (const Column& c : measures)
        if (!row.fields[c.index].empty()) record.measures.emplace(c.name, read_measure_cell(row.fields[c.index], c.name));
      record.pool = pool;
      result.records.push_back(std::move(record));
    } catch (const SpecError& e) {
      errors.skip(result, where, e.what());
    }
  }
  return result;
}

}  // namespace

void register_csv(IngestRegistry& registry) { registry.add("csv", parse_csv); }

}  // namespace ingest
APPORTION_END_NAMESPACE
