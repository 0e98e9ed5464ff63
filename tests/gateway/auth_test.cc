#include <gtest/gtest.h>

#include "base/crypto.h"
#include "gateway/auth.h"
#include "gateway/http.h"

namespace roster::gateway {
namespace {

constexpr char kServiceKey[] = "sk_test_0123456789abcdef";
constexpr char kSecret[] = "jwt-secret-for-tests-0123456789abcdef";

class AuthTest : public ::testing::Test {
 protected:
  AuthTest()
      : clock(1'800'000'000LL * kMicrosPerSecond),
        auth({.service_key = kServiceKey, .jwt_secret = kSecret, .clock = &clock}) {}

  int64_t now() const { return clock.Now() / kMicrosPerSecond; }

  std::string Token(const std::string& payload,
                    const std::string& header = R"({"alg":"HS256","typ":"JWT"})",
                    const std::string& secret = kSecret) {
    return SignJwtHs256(secret, payload, header);
  }
  std::string Claims(int64_t exp_offset = 3600) {
    return R"({"sub":"u1","email":"u1@example.com","exp":)" + std::to_string(now() + exp_offset) +
           "}";
  }

  Status Fails(std::string_view authorization, std::string_view actor = {},
               std::string_view email = {}) {
    Result<Principal> r = auth.Authenticate(authorization, actor, email);
    EXPECT_FALSE(r.ok());
    return r.ok() ? Status() : r.error();
  }

  ManualClock clock;
  Authenticator auth;
};

TEST_F(AuthTest, ServiceKeyIsTheService) {
  Result<Principal> p = auth.Authenticate(std::string("Bearer ") + kServiceKey, "", "");
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->kind, Principal::Kind::kService);
  EXPECT_EQ(p->Actor(), "service");
  EXPECT_TRUE(p->has_service_credential());
  EXPECT_FALSE(p->delegated);
}

TEST_F(AuthTest, ServiceKeyWithActorHeadersActsForTheUser) {
  Result<Principal> p =
      auth.Authenticate(std::string("Bearer ") + kServiceKey, "u7", "u7@example.com");
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->kind, Principal::Kind::kUser);
  EXPECT_EQ(p->user_id, "u7");
  EXPECT_EQ(p->email, "u7@example.com");
  EXPECT_TRUE(p->delegated);
  EXPECT_TRUE(p->has_service_credential());
  EXPECT_EQ(p->Actor(), "user:u7");
}

TEST_F(AuthTest, DelegationNeedsBothHeadersAndSaneValues) {
  std::string bearer = std::string("Bearer ") + kServiceKey;
  EXPECT_EQ(Fails(bearer, "u7", "").message(), "Roster-Actor requires Roster-Actor-Email");
  EXPECT_EQ(Fails(bearer, "", "u7@example.com").message(),
            "Roster-Actor-Email given without Roster-Actor");
  EXPECT_EQ(Fails(bearer, "u7", "not-an-email").code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(Fails(bearer, std::string(300, 'u'), "u7@example.com").code(),
            ErrorCode::kUnauthenticated);
}

TEST_F(AuthTest, UserJwtIsTheUser) {
  Result<Principal> p = auth.Authenticate("Bearer " + Token(Claims()), "", "");
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(p->kind, Principal::Kind::kUser);
  EXPECT_EQ(p->user_id, "u1");
  EXPECT_EQ(p->email, "u1@example.com");
  EXPECT_FALSE(p->delegated);
  EXPECT_FALSE(p->has_service_credential());
}

TEST_F(AuthTest, UserJwtCannotDelegate) {
  Result<Principal> r = auth.Authenticate("Bearer " + Token(Claims()), "u2", "u2@example.com");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::kForbidden);
}

TEST_F(AuthTest, MissingOrMalformedHeader) {
  EXPECT_EQ(Fails("").message(), "missing Authorization header; expected `Bearer <token>`");
  EXPECT_EQ(Fails("Basic dXNlcjpwYXNz").message(),
            "Authorization header must use the Bearer scheme");
  EXPECT_EQ(Fails("Bearer").code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(Fails("Bearer    ").message(), "Authorization header must use the Bearer scheme");
  EXPECT_EQ(Fails("Bearer wrong-key").message(),
            "bearer token is neither the service key nor a JWT");
  EXPECT_EQ(Fails("Bearer " + std::string(9000, 'a')).message(), "bearer token is too long");
}

TEST_F(AuthTest, ErrorsNeverEchoTheToken) {
  std::string token = Token(Claims(-3600));
  Status st = Fails("Bearer " + token);
  EXPECT_EQ(st.message().find(token), std::string::npos);
  Status st2 = Fails("Bearer not-the-key-SECRETVALUE");
  EXPECT_EQ(st2.message().find("SECRETVALUE"), std::string::npos);
}

TEST_F(AuthTest, BadSignature) {
  EXPECT_EQ(Fails("Bearer " + Token(Claims(), R"({"alg":"HS256"})", "another-secret")).message(),
            "JWT signature does not verify");
  std::string token = Token(Claims());
  token.back() = token.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(Fails("Bearer " + token).code(), ErrorCode::kUnauthenticated);
  // A payload swapped under a valid signature.
  std::string other = Token(R"({"sub":"admin","email":"a@example.com","exp":9999999999})");
  std::string good = Token(Claims());
  std::string forged = good.substr(0, good.find('.')) + other.substr(other.find('.'),
      other.rfind('.') - other.find('.')) + good.substr(good.rfind('.'));
  EXPECT_EQ(Fails("Bearer " + forged).message(), "JWT signature does not verify");
}

TEST_F(AuthTest, WrongAlgorithm) {
  EXPECT_EQ(Fails("Bearer " + Token(Claims(), R"({"alg":"none"})")).message(),
            "JWT algorithm must be HS256");
  EXPECT_EQ(Fails("Bearer " + Token(Claims(), R"({"alg":"HS512"})")).message(),
            "JWT algorithm must be HS256");
  EXPECT_EQ(Fails("Bearer " + Token(Claims(), R"({"alg":"RS256"})")).message(),
            "JWT algorithm must be HS256");
  EXPECT_EQ(Fails("Bearer " + Token(Claims(), R"({"typ":"JWT"})")).message(),
            "JWT header has no `alg`");
  // alg=none with an empty signature: a classic.
  std::string unsigned_token = Base64UrlEncode(R"({"alg":"none"})") + "." +
                               Base64UrlEncode(Claims()) + ".";
  EXPECT_EQ(Fails("Bearer " + unsigned_token).code(), ErrorCode::kUnauthenticated);
}

TEST_F(AuthTest, Expired) {
  EXPECT_EQ(Fails("Bearer " + Token(Claims(-3600))).message(), "JWT has expired");
  // Inside the 30 s leeway it still passes; past it, not.
  EXPECT_TRUE(auth.Authenticate("Bearer " + Token(Claims(-10)), "", "").ok());
  EXPECT_EQ(Fails("Bearer " + Token(Claims(-31))).message(), "JWT has expired");
}

TEST_F(AuthTest, NotYetValid) {
  std::string claims = R"({"sub":"u1","email":"u1@example.com","exp":)" +
                       std::to_string(now() + 3600) + R"(,"nbf":)" + std::to_string(now() + 600) +
                       "}";
  EXPECT_EQ(Fails("Bearer " + Token(claims)).message(), "JWT is not valid yet (`nbf`)");
}

TEST_F(AuthTest, MissingClaims) {
  std::string exp = std::to_string(now() + 3600);
  EXPECT_EQ(Fails("Bearer " + Token(R"({"email":"u1@example.com","exp":)" + exp + "}")).message(),
            "JWT has no `sub` claim");
  EXPECT_EQ(Fails("Bearer " + Token(R"({"sub":"u1","exp":)" + exp + "}")).message(),
            "JWT has no `email` claim");
  EXPECT_EQ(Fails("Bearer " + Token(R"({"sub":"u1","email":"u1@example.com"})")).message(),
            "JWT has no `exp` claim");
  EXPECT_EQ(
      Fails("Bearer " + Token(R"({"sub":"u1","email":"u1@example.com","exp":"tomorrow"})"))
          .message(),
      "JWT `exp` must be a number");
  EXPECT_EQ(Fails("Bearer " + Token(R"({"sub":"","email":"u1@example.com","exp":)" + exp + "}"))
                .message(),
            "JWT `sub` is not a valid user id");
  EXPECT_EQ(Fails("Bearer " + Token(R"({"sub":"u1","email":"nope","exp":)" + exp + "}")).message(),
            "JWT `email` is not a valid address");
}

TEST_F(AuthTest, MalformedBase64OrJson) {
  std::string sig = Base64UrlEncode("x");
  EXPECT_EQ(Fails("Bearer !!!." + Base64UrlEncode(Claims()) + "." + sig).message(),
            "JWT header is not base64url-encoded JSON");
  EXPECT_EQ(Fails("Bearer " + Base64UrlEncode("not json") + "." + Base64UrlEncode(Claims()) +
                  "." + sig)
                .message(),
            "JWT header is not base64url-encoded JSON");
  // A validly signed token whose payload is not JSON.
  EXPECT_EQ(Fails("Bearer " + Token("not json")).message(),
            "JWT payload is not base64url-encoded JSON");
  EXPECT_EQ(Fails("Bearer a..b").message(), "JWT is malformed: a segment is empty");
  EXPECT_EQ(Fails("Bearer " + Token(Claims()).substr(0, 20) + ".x.y.z").code(),
            ErrorCode::kUnauthenticated);
}

TEST(Authenticator, JwtRefusedWhenNoSecretIsConfigured) {
  Authenticator auth({.service_key = kServiceKey});
  std::string token = SignJwtHs256("whatever", R"({"sub":"u1","email":"a@b.c","exp":9999999999})");
  Result<Principal> r = auth.Authenticate("Bearer " + token, "", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "bearer token is not the service key, and user tokens are not enabled");
  EXPECT_FALSE(auth.jwt_enabled());
}

TEST(Authenticator, ReadsHeadersFromTheRequest) {
  Authenticator auth({.service_key = kServiceKey});
  HttpRequest req;
  req.headers.emplace("authorization", std::string("Bearer ") + kServiceKey);
  req.headers.emplace("roster-actor", "u9");
  req.headers.emplace("roster-actor-email", "u9@example.com");
  Result<Principal> p = auth.Authenticate(req);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->user_id, "u9");
}

}  // namespace
}  // namespace roster::gateway
