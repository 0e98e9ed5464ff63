#include "gateway/auth.h"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "gateway/http.h"

namespace roster::gateway {
namespace {

constexpr size_t kMaxTokenBytes = 8192;
constexpr size_t kMaxUserIdBytes = 256;
constexpr size_t kMaxEmailBytes = 320;

Status Unauthenticated(std::string detail) {
  return Error(ErrorCode::kUnauthenticated, std::move(detail));
}

bool ValidUserId(std::string_view id) {
  if (id.empty() || id.size() > kMaxUserIdBytes) return false;
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// A plausible address: something@something, no spaces or control characters. The deciders
// validate emails properly (invalid_email); this only keeps junk out of the principal.
bool PlausibleEmail(std::string_view email) {
  if (email.empty() || email.size() > kMaxEmailBytes) return false;
  size_t at = email.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == email.size()) return false;
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Decodes a base64url JWT segment into a JSON object; nullopt on any failure.
std::optional<boost::json::object> DecodeSegment(std::string_view segment) {
  std::string bytes;
  if (!Base64UrlDecode(segment, &bytes)) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

// A JSON number as seconds; nullopt when not a number.
std::optional<double> NumericDate(const boost::json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}

}  // namespace

std::string Principal::Actor() const {
  switch (kind) {
    case Kind::kService: return "service";
    case Kind::kUser: return "user:" + user_id;
    case Kind::kAnonymous: return "anonymous";
  }
  return "anonymous";
}

Authenticator::Authenticator(AuthOptions options)
    : has_service_key_(!options.service_key.empty()),
      jwt_secret_(std::move(options.jwt_secret)),
      leeway_(options.leeway),
      clock_(options.clock != nullptr ? options.clock : &system_clock_) {
  if (has_service_key_) service_key_hash_ = Sha256(options.service_key);
  // The plaintext key goes out of scope with `options`; only its hash stays.
  std::fill(options.service_key.begin(), options.service_key.end(), '\0');
}

Result<Principal> Authenticator::Authenticate(const HttpRequest& request) const {
  return Authenticate(request.Header("authorization").value_or(""),
                      request.Header("roster-actor").value_or(""),
                      request.Header("roster-actor-email").value_or(""));
}

Result<Principal> Authenticator::Authenticate(std::string_view authorization,
                                              std::string_view actor,
                                              std::string_view actor_email) const {
  authorization = Trim(authorization);
  if (authorization.empty()) {
    return Unauthenticated("missing Authorization header; expected `Bearer <token>`");
  }
  size_t space = authorization.find(' ');
  std::string_view scheme = authorization.substr(0, space);
  if (space == std::string_view::npos ||
      !(scheme == "Bearer" || scheme == "bearer" || scheme == "BEARER")) {
    return Unauthenticated("Authorization header must use the Bearer scheme");
  }
  std::string_view token = Trim(authorization.substr(space + 1));
  if (token.empty()) return Unauthenticated("Authorization header has an empty bearer token");
  if (token.size() > kMaxTokenBytes) return Unauthenticated("bearer token is too long");

  actor = Trim(actor);
  actor_email = Trim(actor_email);

  // The service key: compare digests, so the comparison is constant-time whatever the
  // presented token's length.
  if (has_service_key_) {
    Hash256 presented = Sha256(token);
    if (ConstantTimeEqual(AsBytes(presented), AsBytes(service_key_hash_))) {
      Principal p;
      if (actor.empty() && actor_email.empty()) {
        p.kind = Principal::Kind::kService;
        return p;
      }
      if (actor.empty()) {
        return Unauthenticated("Roster-Actor-Email given without Roster-Actor");
      }
      if (actor_email.empty()) {
        return Unauthenticated("Roster-Actor requires Roster-Actor-Email");
      }
      if (!ValidUserId(actor)) return Unauthenticated("Roster-Actor is not a valid user id");
      if (!PlausibleEmail(actor_email)) {
        return Unauthenticated("Roster-Actor-Email is not a valid email address");
      }
      p.kind = Principal::Kind::kUser;
      p.user_id = std::string(actor);
      p.email = std::string(actor_email);
      p.delegated = true;
      return p;
    }
  }

  // Anything else must be a JWT: three dot-separated segments.
  if (std::count(token.begin(), token.end(), '.') != 2) {
    return Unauthenticated("bearer token is neither the service key nor a JWT");
  }
  if (jwt_secret_.empty()) {
    return Unauthenticated("bearer token is not the service key, and user tokens are not enabled");
  }
  Result<Principal> p = VerifyJwt(token);
  if (!p) return p;
  if (!actor.empty() || !actor_email.empty()) {
    return Error(ErrorCode::kForbidden, "Roster-Actor is accepted only with the service key");
  }
  return p;
}

Result<Principal> Authenticator::VerifyJwt(std::string_view token) const {
  size_t d1 = token.find('.');
  size_t d2 = token.find('.', d1 + 1);
  std::string_view header_b64 = token.substr(0, d1);
  std::string_view payload_b64 = token.substr(d1 + 1, d2 - d1 - 1);
  std::string_view signature_b64 = token.substr(d2 + 1);
  if (header_b64.empty() || payload_b64.empty() || signature_b64.empty()) {
    return Unauthenticated("JWT is malformed: a segment is empty");
  }

  std::optional<boost::json::object> header = DecodeSegment(header_b64);
  if (!header) return Unauthenticated("JWT header is not base64url-encoded JSON");
  const boost::json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return Unauthenticated("JWT header has no `alg`");
  if (alg->get_string() != "HS256") {
    return Unauthenticated("JWT algorithm must be HS256");
  }
  if (header->contains("crit")) {
    return Unauthenticated("JWT header has unsupported critical extensions");
  }

  // Verify the signature before looking at any claim.
  std::string signature;
  if (!Base64UrlDecode(signature_b64, &signature)) {
    return Unauthenticated("JWT signature is not base64url");
  }
  std::string signing_input(token.substr(0, d2));
  Hash256 expected = HmacSha256(jwt_secret_, signing_input);
  if (!ConstantTimeEqual(signature, AsBytes(expected))) {
    return Unauthenticated("JWT signature does not verify");
  }

  std::optional<boost::json::object> claims = DecodeSegment(payload_b64);
  if (!claims) return Unauthenticated("JWT payload is not base64url-encoded JSON");

  const boost::json::value* sub = claims->if_contains("sub");
  if (sub == nullptr || !sub->is_string()) return Unauthenticated("JWT has no `sub` claim");
  std::string_view sub_s(sub->get_string().data(), sub->get_string().size());
  if (!ValidUserId(sub_s)) return Unauthenticated("JWT `sub` is not a valid user id");

  const boost::json::value* email = claims->if_contains("email");
  if (email == nullptr || !email->is_string()) {
    return Unauthenticated("JWT has no `email` claim");
  }
  std::string_view email_s(email->get_string().data(), email->get_string().size());
  if (!PlausibleEmail(email_s)) return Unauthenticated("JWT `email` is not a valid address");

  double now = static_cast<double>(clock_->Now()) / kMicrosPerSecond;
  double leeway = static_cast<double>(leeway_.count());
  const boost::json::value* exp_v = claims->if_contains("exp");
  if (exp_v == nullptr) return Unauthenticated("JWT has no `exp` claim");
  std::optional<double> exp = NumericDate(exp_v);
  if (!exp) return Unauthenticated("JWT `exp` must be a number");
  if (now >= *exp + leeway) return Unauthenticated("JWT has expired");

  if (const boost::json::value* nbf_v = claims->if_contains("nbf")) {
    std::optional<double> nbf = NumericDate(nbf_v);
    if (!nbf) return Unauthenticated("JWT `nbf` must be a number");
    if (now + leeway < *nbf) return Unauthenticated("JWT is not valid yet (`nbf`)");
  }

  Principal p;
  p.kind = Principal::Kind::kUser;
  p.user_id = std::string(sub_s);
  p.email = std::string(email_s);
  return p;
}

std::string SignJwtHs256(std::string_view secret, std::string_view payload_json,
                         std::string_view header_json) {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  Hash256 mac = HmacSha256(secret, input);
  return input + "." + Base64UrlEncode(AsBytes(mac));
}

}  // namespace roster::gateway
