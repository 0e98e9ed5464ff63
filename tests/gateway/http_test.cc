#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "gateway/http.h"

namespace roster::gateway {
namespace {

// API.md, "Status of each rule code" and the request-problem bullets: every ErrorCode.
TEST(HttpStatusFor, MapsEveryErrorCodeAsApiMdLists) {
  const std::vector<std::pair<ErrorCode, int>> table = {
      {ErrorCode::kOk, 200},
      {ErrorCode::kForbidden, 403},
      {ErrorCode::kInvitePending, 409},
      {ErrorCode::kAlreadyMember, 409},
      {ErrorCode::kAlreadyExists, 409},
      {ErrorCode::kCannotInviteSelf, 422},
      {ErrorCode::kInviteExpired, 410},
      {ErrorCode::kInviteNotPending, 409},
      {ErrorCode::kInvalidToken, 404},
      {ErrorCode::kInviteEmailMismatch, 403},
      {ErrorCode::kCannotModifySelf, 422},
      {ErrorCode::kAccountMemberImmutable, 409},
      {ErrorCode::kLastAdmin, 409},
      {ErrorCode::kAdminLinkUnconfirmed, 422},
      {ErrorCode::kUnknownRole, 422},
      {ErrorCode::kInvalidEmail, 422},
      {ErrorCode::kInvalidAccess, 422},
      {ErrorCode::kPartnerRevoked, 409},
      {ErrorCode::kPartnerNotActive, 409},
      {ErrorCode::kNotPartnerAccount, 422},
      {ErrorCode::kPlanNotEligible, 422},
      {ErrorCode::kRegionMismatch, 422},
      {ErrorCode::kNotFound, 404},
      {ErrorCode::kInvalidField, 422},
      {ErrorCode::kVersionConflict, 412},
      {ErrorCode::kUnauthenticated, 401},
      {ErrorCode::kMalformedJson, 400},
      {ErrorCode::kBodyTooLarge, 413},
      {ErrorCode::kMethodNotAllowed, 405},
      {ErrorCode::kIdempotencyKeyReused, 422},
      {ErrorCode::kTooManyRequests, 429},
      {ErrorCode::kIoError, 500},
      {ErrorCode::kCorruption, 500},
      {ErrorCode::kUnavailable, 503},
      {ErrorCode::kInternal, 500},
  };
  for (const auto& [code, status] : table) {
    EXPECT_EQ(HttpStatusFor(code), status) << ErrorCodeName(code);
  }
  // Every enumerator in base/status.h is in the table (values 0..255 that have a name).
  size_t named = 0;
  for (int v = 0; v < 256; ++v) {
    if (ErrorCodeName(static_cast<ErrorCode>(v)) != "internal" || v == 83) ++named;
  }
  EXPECT_EQ(named, table.size());
}

TEST(ProblemResponse, RendersRfc9457WithCodeDetailAndExtras) {
  Status st = Error(ErrorCode::kInvitePending, "email: an invitation is pending")
                  .With("invitation_id", "inv_1")
                  .With("status", "must not override");
  HttpResponse r = ProblemResponse(st);
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.content_type, "application/problem+json");
  boost::json::object o = boost::json::parse(r.body).as_object();
  EXPECT_EQ(o["type"], "https://roster.dev/problems/invite_pending");
  EXPECT_EQ(o["title"], "Conflict");
  EXPECT_EQ(o["status"], 409);
  EXPECT_EQ(o["code"], "invite_pending");
  EXPECT_EQ(o["detail"], "email: an invitation is pending");
  EXPECT_EQ(o["invitation_id"], "inv_1");
}

TEST(ProblemResponse, ProtocolProblemsHaveTheSameShape) {
  HttpResponse r = ProblemResponse(431, "headers_too_large", "too big");
  EXPECT_EQ(r.status, 431);
  boost::json::object o = boost::json::parse(r.body).as_object();
  EXPECT_EQ(o["code"], "headers_too_large");
  EXPECT_EQ(o["title"], "Request Header Fields Too Large");
  EXPECT_EQ(o["status"], 431);
}

TEST(JsonResponse, SerializesWithJsonContentType) {
  HttpResponse r = JsonResponse(201, {{"a", 1}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, R"({"a":1})");
  EXPECT_FALSE(r.stream);
}

TEST(ParseTarget, SplitsPathAndDecodesQuery) {
  std::string path;
  QueryParams q;
  ASSERT_TRUE(ParseTarget("/v1/check?principal=u%201&permission=team.view&x=a+b&x=c&flag", &path,
                          &q)
                  .ok());
  EXPECT_EQ(path, "/v1/check");
  EXPECT_EQ(q.find("principal")->second, "u 1");
  EXPECT_EQ(q.find("permission")->second, "team.view");
  EXPECT_EQ(q.count("x"), 2u);
  EXPECT_EQ(q.find("flag")->second, "");
  HttpRequest req;
  req.query = q;
  EXPECT_EQ(req.Query("x"), "a b");
  EXPECT_EQ(req.QueryAll("x"), (std::vector<std::string_view>{"a b", "c"}));
  EXPECT_EQ(req.Query("missing"), std::nullopt);
}

TEST(ParseTarget, KeepsThePathEncodedForTheRouter) {
  std::string path;
  QueryParams q;
  ASSERT_TRUE(ParseTarget("/v1/users/a%2Fb", &path, &q).ok());
  EXPECT_EQ(path, "/v1/users/a%2Fb");
}

TEST(ParseTarget, RejectsBadTargets) {
  std::string path;
  QueryParams q;
  EXPECT_FALSE(ParseTarget("http://example.com/x", &path, &q).ok());
  EXPECT_FALSE(ParseTarget("*", &path, &q).ok());
  EXPECT_FALSE(ParseTarget("/a%zz", &path, &q).ok());
  EXPECT_FALSE(ParseTarget("/a?b=%4", &path, &q).ok());
  EXPECT_FALSE(ParseTarget("/a%", &path, &q).ok());
}

TEST(PercentDecode, HandlesEscapesAndPlus) {
  std::string out;
  ASSERT_TRUE(PercentDecode("a%41%2f+", false, &out));
  EXPECT_EQ(out, "aA/+");
  ASSERT_TRUE(PercentDecode("a+b", true, &out));
  EXPECT_EQ(out, "a b");
  EXPECT_FALSE(PercentDecode("%", false, &out));
  EXPECT_FALSE(PercentDecode("%1", false, &out));
  EXPECT_FALSE(PercentDecode("%g1", false, &out));
}

TEST(Method, ParsesExactTokens) {
  EXPECT_EQ(ParseMethod("GET"), Method::kGet);
  EXPECT_EQ(ParseMethod("PATCH"), Method::kPatch);
  EXPECT_EQ(ParseMethod("get"), Method::kOther);
  EXPECT_EQ(ParseMethod("PROPFIND"), Method::kOther);
  EXPECT_EQ(MethodName(Method::kDelete), "DELETE");
}

TEST(HttpResponse, HeaderLookupIgnoresCase) {
  HttpResponse r;
  r.WithHeader("Retry-After", "1");
  EXPECT_EQ(r.Header("retry-after"), "1");
  EXPECT_EQ(r.Header("allow"), std::nullopt);
}

}  // namespace
}  // namespace roster::gateway
