#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "gateway/router.h"

namespace roster::gateway {
namespace {

Handler Named(std::string name) {
  return [name](const HttpRequest&, const PathParams&, RequestContext&) {
    HttpResponse r;
    r.body = name;
    return r;
  };
}

std::string Call(const RouteMatch& m) {
  HttpRequest req;
  RequestContext ctx;
  return m.route->handler(req, m.params, ctx).body;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.Add(Method::kGet, "/v1/workspaces/{w}/members", {.summary = "list"}, Named("list"));
    router.Add(Method::kPatch, "/v1/workspaces/{w}/members/{user_id}", {.summary = "patch"},
               Named("patch"));
    router.Add(Method::kDelete, "/v1/workspaces/{w}/members/{user_id}", {.summary = "delete"},
               Named("delete"));
    router.Add(Method::kDelete, "/v1/invitations/{id}", {.summary = "cancel"}, Named("cancel"));
    router.Add(Method::kPost, "/v1/invitations/accept", {.summary = "accept"}, Named("accept"));
    router.Add(Method::kGet, "/health", {.summary = "health", .auth = AuthRequirement::kNone},
               Named("health"));
  }
  Router router;
};

TEST_F(RouterTest, MatchesAndExtractsDecodedParams) {
  RouteMatch m = router.Match(Method::kPatch, "/v1/workspaces/w%201/members/a%2Fb");
  ASSERT_NE(m.route, nullptr) << m.error.ToString();
  EXPECT_EQ(Call(m), "patch");
  EXPECT_EQ(m.params.Get("w"), "w 1");
  EXPECT_EQ(m.params.Get("user_id"), "a/b");  // %2F stays inside the segment
  EXPECT_EQ(m.pattern, "/v1/workspaces/{w}/members/{user_id}");
}

TEST_F(RouterTest, LiteralSegmentsBeatParameters) {
  RouteMatch accept = router.Match(Method::kPost, "/v1/invitations/accept");
  ASSERT_NE(accept.route, nullptr);
  EXPECT_EQ(Call(accept), "accept");
  RouteMatch cancel = router.Match(Method::kDelete, "/v1/invitations/accept");
  ASSERT_NE(cancel.route, nullptr);
  EXPECT_EQ(Call(cancel), "cancel");
  EXPECT_EQ(cancel.params.Get("id"), "accept");
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
  for (std::string_view path : {"/", "/nope", "/v1/workspaces", "/v1/workspaces/w/members/u/x",
                                "/health/", "/v1/workspaces//members", "/v1/workspaces/%zz/members"}) {
    RouteMatch m = router.Match(Method::kGet, path);
    EXPECT_EQ(m.route, nullptr) << path;
    EXPECT_EQ(m.error.code(), ErrorCode::kNotFound) << path;
    EXPECT_EQ(m.pattern, "unmatched") << path;
  }
}

TEST_F(RouterTest, KnownPathOtherMethodIsMethodNotAllowedWithAllow) {
  RouteMatch m = router.Match(Method::kPost, "/v1/workspaces/w1/members/u1");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.error.code(), ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "PATCH, DELETE");
  EXPECT_EQ(m.pattern, "/v1/workspaces/{w}/members/{user_id}");

  RouteMatch get = router.Match(Method::kGet, "/v1/invitations/accept");
  EXPECT_EQ(get.error.code(), ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(get.allow, "POST, DELETE");

  RouteMatch other = router.Match(Method::kOther, "/health");
  EXPECT_EQ(other.error.code(), ErrorCode::kMethodNotAllowed);
  EXPECT_EQ(other.allow, "GET, HEAD");
}

TEST_F(RouterTest, HeadIsServedByGet) {
  RouteMatch m = router.Match(Method::kHead, "/health");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(Call(m), "health");
}

TEST_F(RouterTest, RejectsOverlongAndControlCharacterParams) {
  std::string long_id(kMaxPathParamBytes + 1, 'a');
  RouteMatch m = router.Match(Method::kGet, "/v1/workspaces/" + long_id + "/members");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.error.code(), ErrorCode::kInvalidField);
  EXPECT_NE(m.error.message().find("`w`"), std::string::npos);

  std::string max_id(kMaxPathParamBytes, 'a');
  EXPECT_NE(router.Match(Method::kGet, "/v1/workspaces/" + max_id + "/members").route, nullptr);

  RouteMatch ctl = router.Match(Method::kGet, "/v1/workspaces/a%0Ab/members");
  EXPECT_EQ(ctl.error.code(), ErrorCode::kInvalidField);
}

TEST_F(RouterTest, AllowedMethodsForPreflight) {
  EXPECT_EQ(router.AllowedMethods("/v1/workspaces/w/members"),
            (std::vector<Method>{Method::kGet, Method::kHead}));
  EXPECT_TRUE(router.AllowedMethods("/nope").empty());
}

TEST_F(RouterTest, OpenApiDescribesEveryRoute) {
  boost::json::object doc = router.OpenApi({.title = "Roster API", .version = "9.9.9"});
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_EQ(doc["info"].as_object()["version"], "9.9.9");
  const boost::json::object& paths = doc["paths"].as_object();
  for (const Route* r : router.routes()) {
    ASSERT_TRUE(paths.contains(r->pattern)) << r->pattern;
    std::string method(MethodName(r->method));
    for (char& c : method) c = static_cast<char>(std::tolower(c));
    ASSERT_TRUE(paths.at(r->pattern).as_object().contains(method)) << method << " " << r->pattern;
  }
  const boost::json::object& patch =
      paths.at("/v1/workspaces/{w}/members/{user_id}").as_object().at("patch").as_object();
  const boost::json::array& params = patch.at("parameters").as_array();
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].as_object().at("name"), "w");
  EXPECT_EQ(params[0].as_object().at("in"), "path");
  EXPECT_EQ(params[1].as_object().at("name"), "user_id");
  EXPECT_FALSE(patch.at("security").as_array().empty());
  EXPECT_EQ(patch.at("responses").as_object().at("default").as_object().at("$ref"),
            "#/components/responses/Problem");
  EXPECT_TRUE(paths.at("/health").as_object().at("get").as_object().at("security").as_array().empty());
  const boost::json::object& problem =
      doc["components"].as_object()["schemas"].as_object()["Problem"].as_object();
  EXPECT_TRUE(problem.at("properties").as_object().contains("code"));
}

TEST(RouterDeathTest, DuplicateRouteAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Router r;
        r.Add(Method::kGet, "/a/{x}", {}, Named("a"));
        r.Add(Method::kGet, "/a/{x}", {}, Named("b"));
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Router r;
        r.Add(Method::kGet, "/a/{x}/{x}", {}, Named("a"));
      },
      "duplicate parameter");
}

}  // namespace
}  // namespace roster::gateway
