// Who is calling: the service key (optionally acting for a user) or a user's JWT.
//
//   Authorization: Bearer <service key>                  → Principal{kService}
//   … plus Roster-Actor: <user_id>, Roster-Actor-Email: <email>
//                                                        → Principal{kUser, delegated}
//   Authorization: Bearer <JWT HS256 {sub, email, exp}>  → Principal{kUser}
//
// Secrets are never logged, and error details never echo a token.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/status.h"

namespace roster::gateway {

struct HttpRequest;

struct Principal {
  enum class Kind : uint8_t {
    kAnonymous,  // routes with AuthRequirement::kNone: nobody was asked
    kService,    // the service key, acting as itself
    kUser,       // a user: by JWT, or by the service key on the user's behalf
  };
  Kind kind = Kind::kAnonymous;
  std::string user_id;     // kUser only
  std::string email;       // kUser only; as presented (not normalised)
  bool delegated = false;  // kUser through the service key + Roster-Actor headers

  bool is_service() const { return kind == Kind::kService; }
  bool is_user() const { return kind == Kind::kUser; }
  // Presented the service key (as itself or on a user's behalf).
  bool has_service_credential() const { return kind == Kind::kService || delegated; }

  // The event actor: "service", "user:<id>", or "anonymous".
  std::string Actor() const;
};

struct AuthOptions {
  // The host application's key. Only its SHA-256 is kept. Empty: service auth disabled.
  std::string service_key;
  // HS256 secret for user JWTs. Empty: JWTs are refused.
  std::string jwt_secret;
  // Tolerance for clock skew on `exp` and `nbf`. Default 30 s.
  std::chrono::seconds leeway{30};
  // Source of "now" for exp/nbf; must outlive the Authenticator. nullptr: the system clock.
  const Clock* clock = nullptr;
};

// Immutable after construction; Authenticate may be called from any thread.
class Authenticator {
 public:
  explicit Authenticator(AuthOptions options);

  // From the request's authorization, roster-actor and roster-actor-email headers.
  Result<Principal> Authenticate(const HttpRequest& request) const;

  // The same from header values (empty = absent). Errors: kUnauthenticated (401) with a
  // detail naming what failed; kForbidden (403) when a user token tries to delegate.
  Result<Principal> Authenticate(std::string_view authorization, std::string_view actor,
                                 std::string_view actor_email) const;

  bool jwt_enabled() const { return !jwt_secret_.empty(); }

 private:
  Result<Principal> VerifyJwt(std::string_view token) const;

  bool has_service_key_ = false;
  Hash256 service_key_hash_{};
  std::string jwt_secret_;
  std::chrono::seconds leeway_;
  SystemClock system_clock_;
  const Clock* clock_;
};

// Signs an HS256 JWT over `payload_json` (for tests and tools; the server only verifies).
std::string SignJwtHs256(std::string_view secret, std::string_view payload_json,
                         std::string_view header_json = R"({"alg":"HS256","typ":"JWT"})");

}  // namespace roster::gateway
