#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "gateway/json_body.h"

namespace roster::gateway {
namespace {

boost::json::object Obj(std::string_view text) { return boost::json::parse(text).as_object(); }

TEST(ParseJsonObject, MalformedTextIsMalformedJson) {
  for (std::string_view body : {"", "{", "{\"a\":}", "nope", "{\"a\":1} trailing", "\xff"}) {
    Result<boost::json::object> r = ParseJsonObject(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code(), ErrorCode::kMalformedJson) << body;
  }
}

TEST(ParseJsonObject, ANonObjectIsInvalidField) {
  for (std::string_view body : {"[]", "1", "\"s\"", "null"}) {
    Result<boost::json::object> r = ParseJsonObject(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code(), ErrorCode::kInvalidField) << body;
  }
}

TEST(ParseJsonObject, DepthIsLimited) {
  std::string deep(100, '[');
  deep = "{\"a\":" + deep + std::string(100, ']') + "}";
  Result<boost::json::object> r = ParseJsonObject(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kMalformedJson);
  EXPECT_TRUE(ParseJsonObject(" {\"a\": [1, {\"b\": 2}]} ").ok());
}

TEST(JsonReader, ReadsTypedFields) {
  boost::json::object o = Obj(R"({"s":"x","b":true,"i":42,"arr":["a","b"],"o":{"k":"v"},"n":null})");
  JsonReader in(o);
  EXPECT_EQ(in.String("s"), "x");
  EXPECT_EQ(in.Bool("b"), true);
  EXPECT_EQ(in.Int("i", 0, 100), 42);
  EXPECT_EQ(in.StringArray("arr"), (std::vector<std::string>{"a", "b"}));
  JsonReader sub = in.Object("o");
  EXPECT_EQ(sub.String("k"), "v");
  EXPECT_EQ(in.OptionalString("n"), std::nullopt);  // null counts as absent
  EXPECT_EQ(in.OptionalString("missing"), std::nullopt);
  EXPECT_EQ(in.OptionalBool("missing"), std::nullopt);
  EXPECT_FALSE(in.OptionalObject("missing").has_value());
  EXPECT_TRUE(in.ok()) << in.status().ToString();
}

struct FieldCase {
  std::string body;
  std::function<void(JsonReader&)> read;
  std::string detail;
};

TEST(JsonReader, EachFailureIsInvalidFieldNamingTheField) {
  std::vector<FieldCase> cases = {
      {R"({})", [](JsonReader& r) { (void)r.String("email"); }, "field `email` is required"},
      {R"({"email":1})", [](JsonReader& r) { (void)r.String("email"); },
       "field `email` must be a string"},
      {R"({"b":"yes"})", [](JsonReader& r) { (void)r.Bool("b"); },
       "field `b` must be true or false"},
      {R"({"n":1.5})", [](JsonReader& r) { (void)r.Int("n"); }, "field `n` must be an integer"},
      {R"({"n":5})", [](JsonReader& r) { (void)r.Int("n", 0, 3); },
       "field `n` must be between 0 and 3"},
      {R"({"n":18446744073709551615})", [](JsonReader& r) { (void)r.Int("n"); },
       "field `n` is out of range"},
      {R"({"a":"x"})", [](JsonReader& r) { (void)r.StringArray("a"); },
       "field `a` must be an array of strings"},
      {R"({"a":["x",2]})", [](JsonReader& r) { (void)r.StringArray("a"); },
       "field `a[1]` must be a string"},
      {R"({"owner":{"user_id":3}})",
       [](JsonReader& r) {
         JsonReader owner = r.Object("owner");
         (void)owner.String("user_id");
       },
       "field `owner.user_id` must be a string"},
      {R"({})",
       [](JsonReader& r) {
         JsonReader owner = r.Object("owner");
         (void)owner.String("user_id");
       },
       "field `owner` is required"},
      {R"({"owner":[]})", [](JsonReader& r) { (void)r.Object("owner"); },
       "field `owner` must be an object"},
      {R"({"plan":"gold"})",
       [](JsonReader& r) { (void)r.Enum("plan", {"standard", "agency", "partner"}); },
       "field `plan` must be standard, agency or partner"},
      {R"({"a":1,"typo":2})",
       [](JsonReader& r) {
         (void)r.Int("a");
         r.RejectUnknownFields();
       },
       "field `typo` is not a known field"},
  };
  for (const FieldCase& c : cases) {
    boost::json::object o = Obj(c.body);
    JsonReader in(o);
    c.read(in);
    ASSERT_FALSE(in.ok()) << c.body;
    EXPECT_EQ(in.status().code(), ErrorCode::kInvalidField) << c.body;
    EXPECT_EQ(in.status().message(), c.detail) << c.body;
  }
}

TEST(JsonReader, FirstErrorWins) {
  boost::json::object o = Obj(R"({"a":1,"b":2})");
  JsonReader in(o);
  (void)in.String("a");
  (void)in.String("b");
  EXPECT_EQ(in.status().message(), "field `a` must be a string");
}

TEST(JsonReader, LimitsStringLengthAndArraySize) {
  std::string long_string(5000, 'x');
  boost::json::object o;
  o["s"] = long_string;
  boost::json::array big;
  for (int i = 0; i < 1001; ++i) big.push_back("x");
  o["a"] = big;
  {
    JsonReader in(o);
    (void)in.String("s");
    EXPECT_EQ(in.status().message(), "field `s` is longer than 4096 bytes");
  }
  {
    JsonReader in(o);
    (void)in.StringArray("a");
    EXPECT_EQ(in.status().message(), "field `a` has more than 1000 items");
  }
  {
    JsonReader in(o, JsonLimits{.max_string_bytes = 10000, .max_array_items = 2000});
    EXPECT_EQ(in.String("s").size(), 5000u);
    EXPECT_EQ(in.StringArray("a").size(), 1001u);
    EXPECT_TRUE(in.ok());
  }
}

TEST(JsonReader, RawGivesAccessToUnionShapes) {
  boost::json::object o = Obj(R"({"containers":"all"})");
  JsonReader in(o);
  const boost::json::value* v = in.Raw("containers");
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(v->is_string());
  in.RejectUnknownFields();
  EXPECT_TRUE(in.ok());
}

}  // namespace
}  // namespace roster::gateway
