#include "apportion/tags.hpp"
#include "apportion/heap_optional.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using apportion::HeapOptional;
using apportion::Tags;

// HeapOptional behaves as std::optional does: copies are deep, moves leave the source
// empty, and it compares with values, std::nullopt and std::optional (empty ones included).
TEST(HeapOptional, BehavesAsStdOptional) {
  HeapOptional<std::string> none;
  EXPECT_FALSE(none.has_value());
  EXPECT_FALSE(none);
  EXPECT_TRUE(none == std::nullopt);
  EXPECT_TRUE(none == std::optional<std::string>());
  EXPECT_FALSE(none == std::optional<std::string>("a"));
  EXPECT_FALSE(none == std::string("a"));
  EXPECT_EQ(none.value_or("fallback"), "fallback");
  EXPECT_THROW((void)none.value(), std::bad_optional_access);

  HeapOptional<std::string> sku = std::string("onprem/a100");
  ASSERT_TRUE(sku);
  EXPECT_EQ(*sku, "onprem/a100");
  EXPECT_EQ(sku->size(), 11u);
  EXPECT_TRUE(sku == std::string("onprem/a100"));
  EXPECT_TRUE(sku == std::optional<std::string>("onprem/a100"));
  EXPECT_FALSE(sku == std::optional<std::string>());

  HeapOptional<std::string> copy = sku;  // deep: changing one leaves the other
  *copy = "aws/p5";
  EXPECT_EQ(*sku, "onprem/a100");
  EXPECT_FALSE(copy == sku);
  copy = sku;
  EXPECT_TRUE(copy == sku);
  copy = none;
  EXPECT_FALSE(copy.has_value());

  HeapOptional<std::string> moved = std::move(sku);
  EXPECT_EQ(*moved, "onprem/a100");
  EXPECT_FALSE(sku.has_value());  // NOLINT(bugprone-use-after-move): a move leaves it empty

  const std::optional<std::string> back = moved;
  EXPECT_EQ(back, std::optional<std::string>("onprem/a100"));
  moved = std::optional<std::string>();
  EXPECT_FALSE(moved);
  moved = "x";
  EXPECT_EQ(*moved, "x");
  moved = std::nullopt;
  EXPECT_FALSE(moved);
  EXPECT_EQ(moved.emplace(3, 'y'), "yyy");
  moved.reset();
  EXPECT_FALSE(moved);
  EXPECT_EQ(sizeof(HeapOptional<std::string>), sizeof(void*));
}

std::vector<std::string> keys(const Tags& tags) {
  std::vector<std::string> out;
  for (const auto& [k, v] : tags) out.push_back(k);
  return out;
}

TEST(Tags, KeepsPairsSortedByKeyBytes) {
  const Tags t{{"team", "nlp"}, {"namespace", "llm"}, {"Zone", "a"}, {"\xc3\xa9quipe", "x"}, {"a", "1"}};
  // Bytewise: uppercase before lowercase, UTF-8 multibyte (0xC3) after ASCII.
  EXPECT_EQ(keys(t), (std::vector<std::string>{"Zone", "a", "namespace", "team", "\xc3\xa9quipe"}));
  EXPECT_EQ(t.size(), 5u);
  EXPECT_FALSE(t.empty());
}

TEST(Tags, DuplicateKeyIsAnError) {
  EXPECT_THROW((Tags{{"team", "a"}, {"team", "b"}}), std::invalid_argument);
  EXPECT_THROW((Tags{{"team", "a"}, {"x", "1"}, {"team", "a"}}), std::invalid_argument);
  try {
    Tags{{"team", "a"}, {"team", "b"}};
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"team\""), std::string::npos) << e.what();
  }
}

TEST(Tags, LooksUpValues) {
  const Tags t{{"team", "nlp"}, {"namespace", "llm"}};
  EXPECT_EQ(t.get("team"), "nlp");
  EXPECT_EQ(t.get("missing"), std::nullopt);
  EXPECT_TRUE(t.contains("namespace"));
  EXPECT_FALSE(t.contains("Namespace"));
  EXPECT_EQ(Tags().get("team"), std::nullopt);
  EXPECT_TRUE(Tags().empty());
  EXPECT_TRUE(Tags().begin() == Tags().end());
}

TEST(Tags, ContainsAll) {
  const Tags t{{"team", "nlp"}, {"namespace", "llm"}, {"pod", "p1"}};
  EXPECT_TRUE(t.contains_all(Tags()));
  EXPECT_TRUE(t.contains_all(Tags{{"team", "nlp"}}));
  EXPECT_TRUE(t.contains_all(Tags{{"pod", "p1"}, {"team", "nlp"}}));
  EXPECT_TRUE(t.contains_all(t));
  EXPECT_FALSE(t.contains_all(Tags{{"team", "vision"}}));
  EXPECT_FALSE(t.contains_all(Tags{{"team", "nlp"}, {"env", "prod"}}));
  EXPECT_FALSE(Tags().contains_all(Tags{{"team", "nlp"}}));
  EXPECT_FALSE(t.contains_all(Tags{{"team", ""}}));
}

TEST(Tags, WithAddsOrReplaces) {
  const Tags t{{"team", "nlp"}};
  const Tags added = t.with("env", "prod");
  EXPECT_EQ(added, (Tags{{"env", "prod"}, {"team", "nlp"}}));
  const Tags replaced = added.with("team", "vision");
  EXPECT_EQ(replaced, (Tags{{"env", "prod"}, {"team", "vision"}}));
  EXPECT_EQ(t, (Tags{{"team", "nlp"}}));  // the original is untouched
}

TEST(Tags, EqualityIsByContent) {
  const Tags a{{"x", "1"}, {"y", "2"}};
  const Tags b{{"y", "2"}, {"x", "1"}};
  const Tags copy = a;
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, copy);
  EXPECT_NE(a, (Tags{{"x", "1"}}));
  EXPECT_NE(a, (Tags{{"x", "1"}, {"y", "3"}}));
  EXPECT_EQ(Tags(), Tags(std::vector<Tags::Pair>{}));
}

TEST(Tags, CanonicalOrderComparesPairByPairKeyThenValue) {
  // Sorted ascending, as the spec orders result lines.
  const std::vector<Tags> expected = {
      Tags(),
      Tags{{"a", "1"}},
      Tags{{"a", "1"}, {"b", "0"}},  // a longer list after its prefix
      Tags{{"a", "1"}, {"c", "0"}},
      Tags{{"a", "2"}},
      Tags{{"a", "z"}},
      Tags{{"b", "0"}},  // key before value: "a"/"z" < "b"/"0"
      Tags{{"b", "\xc3\xa9"}},
      Tags{{"team", "__idle__"}},
      Tags{{"team", "__unallocated__"}},
      Tags{{"team", "nlp"}},
  };
  for (std::size_t i = 0; i < expected.size(); ++i)
    for (std::size_t j = 0; j < expected.size(); ++j)
      EXPECT_EQ(expected[i] <=> expected[j], i <=> j) << i << " vs " << j;
  std::vector<Tags> shuffled(expected.rbegin(), expected.rend());
  std::swap(shuffled[2], shuffled[7]);
  std::sort(shuffled.begin(), shuffled.end());
  EXPECT_EQ(shuffled, expected);
}

TEST(StandardDimension, RecognisesEachSpelling) {
  const std::pair<const char*, const char*> spellings[] = {
      {"team", "team"},           {"team_name", "team"},         {"team-name", "team"},
      {"teamname", "team"},       {"owner_team", "team"},        {"project", "project"},
      {"project_name", "project"}, {"project-name", "project"},  {"projectname", "project"},
      {"proj", "project"},        {"environment", "environment"}, {"env", "environment"},
      {"stage", "environment"},   {"tier_env", "environment"},   {"model_name", "model_name"},
      {"model-name", "model_name"}, {"modelname", "model_name"}, {"model", "model_name"},
      {"model_id", "model_name"}, {"llm_model", "model_name"},   {"cost_center", "cost_center"},
      {"cost-center", "cost_center"}, {"costcenter", "cost_center"}, {"cost_centre", "cost_center"},
      {"cost-centre", "cost_center"}, {"costcentre", "cost_center"}, {"cc", "cost_center"},
  };
  for (const auto& [spelling, standard] : spellings) {
    EXPECT_EQ(apportion::standard_dimension(spelling), standard) << spelling;
    const std::string label = std::string("label_") + spelling;
    EXPECT_EQ(apportion::standard_dimension(label), standard) << label;
  }
}

TEST(StandardDimension, IgnoresAsciiCaseAndTheLabelPrefix) {
  EXPECT_EQ(apportion::standard_dimension("Team"), "team");
  EXPECT_EQ(apportion::standard_dimension("ENV"), "environment");
  EXPECT_EQ(apportion::standard_dimension("LABEL_Cost-Centre"), "cost_center");
  EXPECT_EQ(apportion::standard_dimension("Label_Model"), "model_name");
  EXPECT_EQ(apportion::standard_dimension("namespace"), std::nullopt);
  EXPECT_EQ(apportion::standard_dimension("label_namespace"), std::nullopt);
  EXPECT_EQ(apportion::standard_dimension("teams"), std::nullopt);
  EXPECT_EQ(apportion::standard_dimension("label_"), std::nullopt);
  EXPECT_EQ(apportion::standard_dimension(""), std::nullopt);
  EXPECT_EQ(apportion::standard_dimension("label_label_team"), std::nullopt);
}

TEST(NormalizeTags, RenamesKnownSpellingsAndKeepsTheRest) {
  const Tags in{{"Team_Name", "nlp"}, {"label_env", "prod"}, {"namespace", "llm"}, {"CC", "4711"}, {"pod", "p1"}};
  const Tags out = apportion::normalize_tags(in);
  EXPECT_EQ(out, (Tags{{"team", "nlp"}, {"environment", "prod"}, {"namespace", "llm"}, {"cost_center", "4711"},
                       {"pod", "p1"}}));
  EXPECT_EQ(apportion::normalize_tags(Tags()), Tags());
  EXPECT_EQ(apportion::normalize_tags(out), out);  // idempotent
}

TEST(NormalizeTags, TwoSpellingsOfOneDimensionAreAnError) {
  EXPECT_THROW(apportion::normalize_tags(Tags{{"team", "a"}, {"team_name", "b"}}), std::invalid_argument);
  EXPECT_THROW(apportion::normalize_tags(Tags{{"env", "prod"}, {"Stage", "prod"}}), std::invalid_argument);
  try {
    apportion::normalize_tags(Tags{{"model", "llama"}, {"label_model_id", "llama"}});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("\"model\""), std::string::npos) << what;
    EXPECT_NE(what.find("\"label_model_id\""), std::string::npos) << what;
    EXPECT_NE(what.find("\"model_name\""), std::string::npos) << what;
  }
}

}  // namespace
