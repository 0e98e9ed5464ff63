#include "gateway/http.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

namespace roster::gateway {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view MethodName(Method method) {
  switch (method) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kPatch: return "PATCH";
    case Method::kDelete: return "DELETE";
    case Method::kOptions: return "OPTIONS";
    case Method::kOther: return "OTHER";
  }
  return "OTHER";
}

Method ParseMethod(std::string_view name) {
  if (name == "GET") return Method::kGet;
  if (name == "HEAD") return Method::kHead;
  if (name == "POST") return Method::kPost;
  if (name == "PUT") return Method::kPut;
  if (name == "PATCH") return Method::kPatch;
  if (name == "DELETE") return Method::kDelete;
  if (name == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

std::optional<std::string_view> HttpRequest::Header(std::string_view lower_name) const {
  auto it = headers.find(lower_name);
  if (it == headers.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> HttpRequest::Query(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::vector<std::string_view> HttpRequest::QueryAll(std::string_view name) const {
  std::vector<std::string_view> out;
  auto [lo, hi] = query.equal_range(name);
  for (auto it = lo; it != hi; ++it) out.emplace_back(it->second);
  return out;
}

bool PercentDecode(std::string_view text, bool plus_is_space, std::string* out) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return false;
      decoded += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      decoded += ' ';
    } else {
      decoded += c;
    }
  }
  *out = std::move(decoded);
  return true;
}

Status ParseTarget(std::string_view target, std::string* path, QueryParams* query) {
  if (target.empty() || target.front() != '/') {
    return Error(ErrorCode::kInvalidField, "request target must be an absolute path");
  }
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  // Fragments are never sent by conforming clients; treat '#' as part of nothing.
  if (raw_path.find('#') != std::string_view::npos) {
    return Error(ErrorCode::kInvalidField, "request target must not contain a fragment");
  }
  std::string scratch;
  if (!PercentDecode(raw_path, false, &scratch)) {
    return Error(ErrorCode::kInvalidField, "request path has a malformed percent-escape");
  }
  path->assign(raw_path);
  query->clear();
  if (q == std::string_view::npos) return Status::Ok();
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name, value;
    if (!PercentDecode(pair.substr(0, eq), true, &name) ||
        (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, &value))) {
      return Error(ErrorCode::kInvalidField, "query string has a malformed percent-escape");
    }
    query->emplace(std::move(name), std::move(value));
  }
  return Status::Ok();
}

std::optional<std::string_view> HttpResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return std::string_view(v);
  }
  return std::nullopt;
}

HttpResponse JsonResponse(int status, const boost::json::value& value) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = boost::json::serialize(value);
  return response;
}

HttpResponse Deferred(DeferredStart start) {
  HttpResponse r;
  r.deferred = std::move(start);
  return r;
}

HttpResponse StreamResponse(std::string content_type, StreamProducer producer) {
  HttpResponse response;
  response.status = 200;
  response.content_type = std::move(content_type);
  response.stream = std::move(producer);
  return response;
}

// The one mapping from error codes to HTTP statuses (API.md, "Status of each rule code").
int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return 200;
    case ErrorCode::kForbidden: return 403;
    case ErrorCode::kInvitePending: return 409;
    case ErrorCode::kAlreadyMember: return 409;
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kCannotInviteSelf: return 422;
    case ErrorCode::kInviteExpired: return 410;
    case ErrorCode::kInviteNotPending: return 409;
    case ErrorCode::kInvalidToken: return 404;
    case ErrorCode::kInviteEmailMismatch: return 403;
    case ErrorCode::kCannotModifySelf: return 422;
    case ErrorCode::kAccountMemberImmutable: return 409;
    case ErrorCode::kLastAdmin: return 409;
    case ErrorCode::kAdminLinkUnconfirmed: return 422;
    case ErrorCode::kUnknownRole: return 422;
    case ErrorCode::kInvalidEmail: return 422;
    case ErrorCode::kInvalidAccess: return 422;
    case ErrorCode::kPartnerRevoked: return 409;
    case ErrorCode::kPartnerNotActive: return 409;
    case ErrorCode::kNotPartnerAccount: return 422;
    case ErrorCode::kPlanNotEligible: return 422;
    case ErrorCode::kRegionMismatch: return 422;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kInvalidField: return 422;
    case ErrorCode::kVersionConflict: return 412;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kMalformedJson: return 400;
    case ErrorCode::kBodyTooLarge: return 413;
    case ErrorCode::kMethodNotAllowed: return 405;
    case ErrorCode::kIdempotencyKeyReused: return 422;
    case ErrorCode::kTooManyRequests: return 429;
    case ErrorCode::kIoError: return 500;
    case ErrorCode::kCorruption: return 500;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string_view ReasonPhrase(int http_status) {
  switch (http_status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

namespace {

constexpr std::string_view kProblemTypeBase = "https://roster.dev/problems/";

HttpResponse RenderProblem(int http_status, std::string_view code, std::string_view detail,
                           const std::vector<std::pair<std::string, std::string>>* extra) {
  boost::json::object problem;
  problem["type"] = std::string(kProblemTypeBase) + std::string(code);
  problem["title"] = ReasonPhrase(http_status);
  problem["status"] = http_status;
  problem["code"] = code;
  problem["detail"] = detail;
  if (extra != nullptr) {
    for (const auto& [key, value] : *extra) {
      if (key == "type" || key == "title" || key == "status" || key == "code" ||
          key == "detail") {
        continue;  // the standard members are not negotiable
      }
      problem[key] = value;
    }
  }
  HttpResponse response;
  response.status = http_status;
  response.content_type = "application/problem+json";
  response.body = boost::json::serialize(problem);
  return response;
}

}  // namespace

HttpResponse ProblemResponse(const Status& status) {
  assert(!status.ok() && "ProblemResponse of an ok Status");
  if (status.ok()) return RenderProblem(500, "internal", "ok status rendered as a problem", nullptr);
  return RenderProblem(HttpStatusFor(status.code()), status.code_name(), status.message(),
                       &status.extra());
}

HttpResponse ProblemResponse(int http_status, std::string_view code, std::string_view detail) {
  return RenderProblem(http_status, code, detail, nullptr);
}

}  // namespace roster::gateway
