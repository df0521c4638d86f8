// Joining tags from one input onto another's records: join_tags and the spec's
// `inputs[].join`, `id` and `join_only`.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "apportion/apportion.hpp"

using namespace apportion;

namespace {

Record record(Tags tags, std::string origin = "r") {
  Record r;
  r.tags = std::move(tags);
  r.origin = std::move(origin);
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(JoinTags, AddsMissingTagsAndCountsMatches) {
  std::vector<Record> usage{record({{"namespace", "nlp"}, {"pod", "a"}}),
                            record({{"namespace", "nlp"}, {"pod", "b"}, {"team", "mine"}}),
                            record({{"namespace", "nlp"}, {"pod", "gone"}}), record({{"gpu", "GPU-1"}})};
  const std::vector<Record> pods{record({{"namespace", "nlp"}, {"pod", "a"}, {"team", "nlp"}}, "ksm line 1"),
                                 record({{"namespace", "nlp"}, {"pod", "b"}, {"team", "vision"}, {"project", "p"}}),
                                 record({{"pod", "no-namespace"}, {"team", "x"}})};
  const JoinCounts counts = join_tags(usage, pods, {"namespace", "pod"}, "inputs[1].join");
  EXPECT_EQ(counts.matched, 2u);
  EXPECT_EQ(counts.unmatched, 2u);  // no such pod; no pod tag at all
  EXPECT_EQ(usage[0].tags, Tags({{"namespace", "nlp"}, {"pod", "a"}, {"team", "nlp"}}));
  // The record's own value wins; tags it lacks are added.
  EXPECT_EQ(usage[1].tags, Tags({{"namespace", "nlp"}, {"pod", "b"}, {"team", "mine"}, {"project", "p"}}));
  EXPECT_EQ(usage[2].tags, Tags({{"namespace", "nlp"}, {"pod", "gone"}}));
  EXPECT_EQ(usage[3].tags, Tags({{"gpu", "GPU-1"}}));
}

TEST(JoinTags, ConflictingTableRecordsAreAnError) {
  std::vector<Record> usage{record({{"pod", "a"}})};
  const std::vector<Record> same{record({{"pod", "a"}, {"team", "x"}}, "f line 1"), record({{"pod", "a"}, {"team", "x"}}, "f line 2")};
  EXPECT_EQ(join_tags(usage, same, {"pod"}, "j").matched, 1u);  // identical duplicates agree
  const std::vector<Record> conflict{record({{"pod", "a"}, {"team", "x"}}, "f line 1"),
                                     record({{"pod", "a"}, {"team", "y"}}, "f line 2")};
  EXPECT_EQ(error_of([&] { join_tags(usage, conflict, {"pod"}, "inputs[1].join"); }),
            "inputs[1].join: two records for pod=a with different tags (f line 1 and f line 2)");
}

namespace {

// A spec in a temporary folder beside two small input files.
struct SpecFolder {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("apportion-join-" + std::to_string(::getpid()));
  SpecFolder() {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "labels.csv") << "namespace,pod,team\nnlp,a,nlp\nnlp,b,vision\n";
    std::ofstream(dir / "usage.csv") << "namespace,pod,gpu_seconds\nnlp,a,300\nnlp,b,100\nnlp,c,100\n";
  }
  ~SpecFolder() { std::filesystem::remove_all(dir); }
  Result run(const std::string& inputs) const {
    const std::string spec = R"({"apportion": 1, "pools": [{"id": "p", "cost": "10.00"}], "records": [], "inputs": )" + inputs +
                             R"(, "steps": [{"id": "s", "strategy": "proportional", "pool": "p", "group_by": ["team"], "weight": "gpu_seconds"}]})";
    SpecOptions options;
    options.base_dir = dir;
    return apportion::run(allocation_from_spec(parse_json(spec), options));
  }
  std::string error(const std::string& inputs) const {
    return error_of([&] { run(inputs); });
  }
};

const std::string labels_input = R"({"as": "pods", "format": "csv", "path": "labels.csv", "tags": "namespace,pod,team", "join_only": true})";
const std::string usage_input = R"({"format": "csv", "path": "usage.csv", "tags": "namespace,pod", "measures": "gpu_seconds")";

}  // namespace

TEST(SpecJoin, JoinOnlyInputTagsAnotherInputsRecords) {
  const SpecFolder folder;
  const Result r = folder.run("[" + labels_input + ", " + usage_input + R"(, "join": {"input": "pods", "on": "namespace,pod"}}])");
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[0].tags, Tags({{"team", "nlp"}}));
  EXPECT_EQ(r.lines[0].cost, Decimal(6));
  EXPECT_EQ(r.lines[1].tags, Tags({{"team", "vision"}}));
  EXPECT_EQ(r.lines[1].cost, Decimal(2));
  EXPECT_EQ(r.lines[2].kind, LineKind::unallocated);  // pod c has no labels: visible, not guessed
  EXPECT_EQ(r.lines[2].cost, Decimal(2));
  ASSERT_EQ(r.inputs.size(), 2u);
  EXPECT_TRUE(r.inputs[0].join_only);
  EXPECT_EQ(r.inputs[1].join, std::optional<std::string>("pods"));
  EXPECT_EQ(r.inputs[1].joined, 2u);
  EXPECT_EQ(r.inputs[1].unmatched, 1u);
  const std::string json = result_to_json(r);
  EXPECT_NE(json.find(R"("join": "pods")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("unmatched": 1)"), std::string::npos) << json;
}

TEST(SpecJoin, AJoinThatMatchesNothingIsWarnedOf) {
  // Joined on a tag the table lacks (the labels have no container): nothing matches, every
  // record lands unallocated, and the input says so instead of only counting.
  const SpecFolder folder;
  const Result r = folder.run("[" + labels_input + ", " + usage_input +
                              R"(, "join": {"input": "pods", "on": ["namespace", "pod", "container"]}}])");
  EXPECT_EQ(r.inputs[1].joined, 0u);
  EXPECT_EQ(r.inputs[1].warnings, (std::vector<std::string>{"usage.csv: none of its 3 records matched \"pods\" on "
                                                            "namespace, pod, container: do both inputs have these tags, "
                                                            "spelt so?"}));
  // No record of the step has a team: the step says so too.
  EXPECT_EQ(r.warnings, (std::vector<std::string>{"steps[0]: no record taking part in step \"s\" has the group_by key "
                                                  "\"team\", so all of it is unallocated"}));
  EXPECT_TRUE(folder.run("[" + labels_input + ", " + usage_input + R"(, "join": {"input": "pods", "on": "namespace,pod"}}])")
                  .inputs[1]
                  .warnings.empty());
}

TEST(SpecJoin, ANamedInputStillYieldsItsRecords) {
  const SpecFolder folder;
  // Without join_only the label rows are records too (weightless here: no gpu_seconds).
  const std::string labels = R"({"as": "pods", "format": "csv", "path": "labels.csv", "tags": "namespace,pod,team"})";
  const Result r = folder.run("[" + labels + ", " + usage_input + R"(, "join": {"input": "pods", "on": ["namespace", "pod"]}}])");
  EXPECT_EQ(r.inputs[0].records, 2u);
  EXPECT_FALSE(r.inputs[0].join_only);
  EXPECT_EQ(r.lines[0].cost, Decimal(6));
}

TEST(SpecJoin, Errors) {
  const SpecFolder folder;
  EXPECT_EQ(folder.error("[" + usage_input + R"(, "join": {"input": "pods", "on": "pod"}}])"),
            "inputs[0].join.input: no earlier input is named \"pods\"");
  EXPECT_EQ(folder.error("[" + labels_input + ", " + usage_input + R"(, "join": {"input": "pods", "on": []}}])"),
            "inputs[1].join.on: must name at least one tag");
  EXPECT_EQ(folder.error("[" + labels_input + ", " + usage_input + R"(, "join": {"input": "pods", "on": "pod", "how": "left"}}])"),
            "inputs[1].join.how: unknown key");
  EXPECT_EQ(folder.error(R"([{"format": "csv", "path": "labels.csv", "tags": "pod", "join_only": true}])"),
            "inputs[0].join_only: needs \"as\", a name for a later input to join on");
  EXPECT_EQ(folder.error("[" + labels_input + ", " + labels_input + "]"), "inputs[1].as: input name \"pods\" is used twice");
  EXPECT_EQ(folder.error(R"([{"as": "", "format": "csv", "path": "labels.csv", "tags": "pod"}])"), "inputs[0].as: must not be empty");
}
