// The protocol around every endpoint: authentication, request errors, Idempotency-Key,
// If-Match, and /openapi.json listing every path of API.md.
#include <algorithm>
#include <ctime>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "base/crypto.h"
#include "tests/api/api_fixture.h"

namespace roster::testing {
namespace {

class Protocol : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    if (HasFatalFailure()) return;
    OpenAccount("acme");
    CreateWorkspace("acme", "w1");
  }
};

TEST_F(Protocol, AuthenticationFailuresAre401) {
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/members", {}), 401, "unauthenticated");
  EXPECT_PROBLEM(Get("/v1/workspaces/w1/members", Bearer("wrong-key")), 401, "unauthenticated");
  std::string payload = R"({"sub":"ana","email":"ana@example.com","exp":)" +
                        std::to_string(std::time(nullptr) + 3600) + "}";
  EXPECT_PROBLEM(Get("/v1/users/ana/access", Bearer(SignJwt("another-secret-0123456789abcdef", payload))),
                 401, "unauthenticated");
  EXPECT_PROBLEM(Get("/v1/users/ana/access", Bearer(UserJwt("ana", "ana@example.com", -3600))), 401,
                 "unauthenticated");
  EXPECT_PROBLEM(Get("/v1/users/ana/access",
                     Bearer(SignJwt(kJwtSecret, payload, R"({"alg":"HS512","typ":"JWT"})"))),
                 401, "unauthenticated");
  std::string none = Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") + "." +
                     Base64UrlEncode(payload) + ".";
  EXPECT_PROBLEM(Get("/v1/users/ana/access", Bearer(none)), 401, "unauthenticated");
  std::string no_exp = SignJwt(kJwtSecret, R"({"sub":"ana","email":"ana@example.com"})");
  EXPECT_PROBLEM(Get("/v1/users/ana/access", Bearer(no_exp)), 401, "unauthenticated");
  // Commands too.
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "a@example.com"}, {"role", "viewer"}},
                      {}),
                 401, "unauthenticated");
  EXPECT_EQ(Head(), 2u);  // nothing was appended
  // A valid user token works; service-only endpoints refuse it.
  HeaderList ana = Bearer(UserJwt("ana", "ana@example.com"));
  EXPECT_STATUS(Get("/v1/users/ana/access", ana), 200);
  for (const char* path : {"/v1/events", "/v1/events/stream", "/v1/ledger/verify"}) {
    EXPECT_PROBLEM(Get(path, ana), 403, "forbidden");
  }
  EXPECT_PROBLEM(Post("/v1/privacy/erase", {{"email", "ana@example.com"}}, ana), 403, "forbidden");
  EXPECT_STATUS(Get("/v1/ledger/head", ana), 200);
  // Operations endpoints need nothing.
  EXPECT_STATUS(Get("/health", {}), 200);
  EXPECT_STATUS(Get("/ready", {}), 200);
  EXPECT_STATUS(Get("/metrics", {}), 200);
  EXPECT_STATUS(Get("/openapi.json", {}), 200);
}

TEST_F(Protocol, RequestErrorsAreProblems) {
  HttpResult malformed = Call("POST", "/v1/workspaces/w1/invitations", "{\"email\": ");
  EXPECT_PROBLEM(malformed, 400, "malformed_json");
  EXPECT_PROBLEM(Call("POST", "/v1/workspaces/w1/invitations", ""), 400, "malformed_json");
  HttpResult not_object = Call("POST", "/v1/workspaces/w1/invitations", "[1,2]");
  EXPECT_PROBLEM(not_object, 422, "invalid_field");
  HttpResult missing = Post("/v1/workspaces/w1/invitations", {{"role", "viewer"}});
  EXPECT_PROBLEM(missing, 422, "invalid_field");
  EXPECT_NE(Str(Obj(missing)["detail"]).find("email"), std::string::npos) << missing.body;
  HttpResult wrong_type = Post("/v1/workspaces/w1/invitations", {{"email", true}, {"role", "viewer"}});
  EXPECT_PROBLEM(wrong_type, 422, "invalid_field");
  EXPECT_NE(Str(Obj(wrong_type)["detail"]).find("email"), std::string::npos);
  std::string big = "{\"email\": \"" + std::string((1 << 20) + 10, 'x') + "\"}";
  EXPECT_PROBLEM(Call("POST", "/v1/workspaces/w1/invitations", big), 413, "body_too_large");
  EXPECT_PROBLEM(Call("PUT", "/v1/accounts"), 405, "method_not_allowed");
  HttpResult na = Call("DELETE", "/v1/workspaces/w1");
  EXPECT_PROBLEM(na, 405, "method_not_allowed");
  EXPECT_FALSE(na.Header("allow").empty());
  EXPECT_PROBLEM(Get("/v1/nothing/here"), 404, "not_found");
  EXPECT_PROBLEM(Get("/v1/invitations/inv_nope"), 404, "not_found");
  EXPECT_EQ(Head(), 2u);
}

TEST_F(Protocol, IdempotencyKeyRepeatsTheFirstAnswerAndAppendsNothing) {
  json::object body{{"email", "bob@example.com"}, {"role", "viewer"}};
  HeaderList keyed = With(Service(), "Idempotency-Key", "key-1");
  HttpResult first = Post("/v1/workspaces/w1/invitations", body, keyed);
  ASSERT_STATUS(first, 201);
  uint64_t head = Head();
  HttpResult repeat = Post("/v1/workspaces/w1/invitations", body, keyed);
  ASSERT_STATUS(repeat, 201);
  EXPECT_EQ(repeat.Json(), first.Json());
  EXPECT_EQ(Str(Obj(repeat)["token"]), Str(Obj(first)["token"]));
  EXPECT_EQ(repeat.Header("idempotent-replayed"), "true");
  EXPECT_EQ(Head(), head);
  // Same JSON, other key order and spacing: still the same request.
  HttpResult reordered = Call("POST", "/v1/workspaces/w1/invitations",
                              "{ \"role\" : \"viewer\",\n \"email\": \"bob@example.com\" }", keyed);
  ASSERT_STATUS(reordered, 201);
  EXPECT_EQ(reordered.Json(), first.Json());
  // A different body, path or caller with the same key → idempotency_key_reused.
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", {{"email", "carl@example.com"}, {"role", "viewer"}},
                      keyed),
                 422, "idempotency_key_reused");
  CreateWorkspace("acme", "w2");
  head = Head();
  EXPECT_PROBLEM(Post("/v1/workspaces/w2/invitations", body, keyed), 422, "idempotency_key_reused");
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", body,
                      With(As("acme-owner", EmailOf("acme-owner")), "Idempotency-Key", "key-1")),
                 422, "idempotency_key_reused");
  EXPECT_EQ(Head(), head);
  // Without a key, the same body is a new request (here: invite_pending).
  EXPECT_PROBLEM(Post("/v1/workspaces/w1/invitations", body), 409, "invite_pending");
  // PATCH and DELETE too.
  AddMember("w1", "ana", "admin");
  HeaderList k2 = With(Service(), "Idempotency-Key", "key-2");
  HttpResult removed = Call("DELETE", "/v1/invitations/" + Str(Obj(first)["invitation_id"]), "", k2);
  ASSERT_STATUS(removed, 200);
  HttpResult removed_again = Call("DELETE", "/v1/invitations/" + Str(Obj(first)["invitation_id"]), "", k2);
  ASSERT_STATUS(removed_again, 200);
  EXPECT_EQ(removed_again.Json(), removed.Json());
  EXPECT_PROBLEM(Call("POST", "/v1/accounts", Body(json::object{{"name", "x"}}),
                      With(Service(), "Idempotency-Key", "")),
                 422, "invalid_field");
}

TEST_F(Protocol, IfMatchMakesCommandsConditional) {
  HttpResult ws = Get("/v1/workspaces/w1");
  ASSERT_STATUS(ws, 200);
  uint64_t version = Obj(ws)["version"].to_number<uint64_t>();
  EXPECT_EQ(version, 2u);
  json::object body{{"email", "bob@example.com"}, {"role", "viewer"}};
  HttpResult ok = Post("/v1/workspaces/w1/invitations", body,
                       With(Service(), "If-Match", "\"" + std::to_string(version) + "\""));
  ASSERT_STATUS(ok, 201);
  EXPECT_EQ(Obj(ok)["version"], version + 1);
  EXPECT_EQ(ok.Header("etag"), "\"" + std::to_string(version + 1) + "\"");
  uint64_t head = Head();
  HttpResult stale = Post("/v1/workspaces/w1/invitations", {{"email", "cy@example.com"}, {"role", "viewer"}},
                          With(Service(), "If-Match", "\"" + std::to_string(version) + "\""));
  EXPECT_PROBLEM(stale, 412, "version_conflict");
  EXPECT_EQ(Head(), head);
  // Quotes are optional.
  EXPECT_STATUS(Post("/v1/workspaces/w1/invitations", {{"email", "cy@example.com"}, {"role", "viewer"}},
                     With(Service(), "If-Match", std::to_string(version + 1))),
                201);
  HttpResult bad = Post("/v1/workspaces/w1/invitations", {{"email", "dee@example.com"}, {"role", "viewer"}},
                        With(Service(), "If-Match", "W/\"x\""));
  EXPECT_PROBLEM(bad, 422, "invalid_field");
  EXPECT_NE(Str(Obj(bad)["detail"]).find("If-Match"), std::string::npos);
}

// Every (method, path) of API.md, as the OpenAPI document spells paths.
const std::vector<std::pair<std::string, std::string>>& ApiMdRoutes() {
  static const std::vector<std::pair<std::string, std::string>> kRoutes = {
      {"post", "/v1/accounts"},
      {"get", "/v1/accounts/{a}"},
      {"post", "/v1/accounts/{a}/members"},
      {"patch", "/v1/accounts/{a}/members/{user_id}"},
      {"delete", "/v1/accounts/{a}/members/{user_id}"},
      {"post", "/v1/accounts/{a}/workspaces"},
      {"get", "/v1/workspaces/{w}"},
      {"put", "/v1/workspaces/{w}/roles/{role}"},
      {"get", "/v1/workspaces/{w}/members"},
      {"patch", "/v1/workspaces/{w}/members/{user_id}"},
      {"delete", "/v1/workspaces/{w}/members/{user_id}"},
      {"post", "/v1/workspaces/{w}/invitations"},
      {"get", "/v1/workspaces/{w}/invitations"},
      {"post", "/v1/invitations/{id}/resend"},
      {"delete", "/v1/invitations/{id}"},
      {"post", "/v1/invitations/accept"},
      {"put", "/v1/workspaces/{w}/invite-link"},
      {"get", "/v1/workspaces/{w}/invite-link"},
      {"post", "/v1/workspaces/{w}/invite-link/regenerate"},
      {"delete", "/v1/workspaces/{w}/invite-link"},
      {"post", "/v1/invite-links/join"},
      {"post", "/v1/workspaces/{w}/partners"},
      {"post", "/v1/partners/{p}/accept"},
      {"get", "/v1/workspaces/{w}/partners"},
      {"get", "/v1/partners/{p}"},
      {"patch", "/v1/partners/{p}"},
      {"post", "/v1/partners/{p}/suspend"},
      {"post", "/v1/partners/{p}/resume"},
      {"post", "/v1/partners/{p}/revoke"},
      {"post", "/v1/accounts/{a}/shares"},
      {"get", "/v1/accounts/{a}/shares"},
      {"get", "/v1/users/{u}/shares"},
      {"delete", "/v1/accounts/{a}/shares/{grantee_user_id}"},
      {"post", "/v1/accounts/{a}/shares/{grantee_user_id}/retire"},
      {"get", "/v1/check"},
      {"post", "/v1/check/bulk"},
      {"get", "/v1/workspaces/{w}/access"},
      {"get", "/v1/users/{u}/access"},
      {"get", "/v1/workspaces/{w}/access-history"},
      {"get", "/v1/workspaces/{w}/access-review"},
      {"get", "/v1/audit"},
      {"get", "/v1/audit/export"},
      {"get", "/v1/users/{u}/activity"},
      {"get", "/v1/users/{u}/notifications"},
      {"get", "/v1/events"},
      {"get", "/v1/events/stream"},
      {"get", "/v1/ledger/head"},
      {"get", "/v1/ledger/verify"},
      {"post", "/v1/privacy/erase"},
      {"get", "/health"},
      {"get", "/ready"},
      {"get", "/metrics"},
      {"get", "/openapi.json"},
  };
  return kRoutes;
}

TEST_F(Protocol, OpenApiListsEveryPathOfApiMd) {
  HttpResult doc = Get("/openapi.json", {});
  ASSERT_STATUS(doc, 200);
  json::object paths = Obj(doc)["paths"].as_object();
  std::set<std::pair<std::string, std::string>> listed;
  for (const auto& [path, item] : paths) {
    for (const auto& [method, op] : item.as_object()) {
      listed.emplace(std::string(method), std::string(path));
    }
  }
  for (const auto& [method, path] : ApiMdRoutes()) {
    EXPECT_TRUE(listed.count({method, path})) << method << " " << path;
  }
  // Cross-check with the contract itself when it is beside the project: every
  // "`METHOD /path`" it spells out (parameter names as written there).
  std::ifstream in(API_MD_PATH);
  if (!in) GTEST_SKIP() << "API.md not found at " << API_MD_PATH;
  std::stringstream text;
  text << in.rdbuf();
  std::string md = text.str();
  std::regex route(R"(`(GET|POST|PUT|PATCH|DELETE) (/[^ `?\[]*))");
  int found = 0;
  for (auto it = std::sregex_iterator(md.begin(), md.end(), route); it != std::sregex_iterator(); ++it) {
    std::string method = (*it)[1];
    std::transform(method.begin(), method.end(), method.begin(), ::tolower);
    std::string path = (*it)[2];
    ++found;
    EXPECT_TRUE(listed.count({method, path})) << "API.md names " << method << " " << path;
  }
  EXPECT_GE(found, 40);
}

}  // namespace
}  // namespace roster::testing
