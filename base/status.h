// Status and Result<T>: every fallible call in Roster returns one of these.
// Rejections (a rule says no, a version moved) are values; bugs are assertions.
// The error code says what the caller should do; gateway/ maps codes to HTTP in one place.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace roster {

// Error codes, grouped by what a caller should do. Names (ErrorCodeName) are the
// `code` values of API.md; never rename one.
enum class ErrorCode : uint8_t {
  kOk = 0,
  // Domain rule violations: don't retry, show the user.
  kForbidden = 1,
  kInvitePending = 2,
  kAlreadyMember = 3,
  kAlreadyExists = 4,
  kCannotInviteSelf = 5,
  kInviteExpired = 6,
  kInviteNotPending = 7,
  kInvalidToken = 8,
  kInviteEmailMismatch = 9,
  kCannotModifySelf = 10,
  kAccountMemberImmutable = 11,
  kLastAdmin = 12,
  kAdminLinkUnconfirmed = 13,
  kUnknownRole = 14,
  kInvalidEmail = 15,
  kInvalidAccess = 16,
  kPartnerRevoked = 17,
  kPartnerNotActive = 18,
  kNotPartnerAccount = 19,
  kPlanNotEligible = 20,
  kRegionMismatch = 21,
  kNotFound = 22,
  kInvalidField = 23,
  // Concurrency: re-read and retry (or tell the caller their If-Match is stale).
  kVersionConflict = 40,
  // Request problems detected by the gateway.
  kUnauthenticated = 50,
  kMalformedJson = 51,
  kBodyTooLarge = 52,
  kMethodNotAllowed = 53,
  kIdempotencyKeyReused = 54,
  kTooManyRequests = 55,
  // Faults: the store is unusable or data is damaged; operators must look.
  kIoError = 80,
  kCorruption = 81,
  kUnavailable = 82,  // e.g. the log refuses writes after a failed sync
  kInternal = 83,
};

std::string_view ErrorCodeName(ErrorCode code);

// A status: ok, or an error code with a human message that names the offending field,
// plus optional extra members for the problem document (e.g. invitation_id).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string_view code_name() const { return ErrorCodeName(code_); }

  // Extra key/value members rendered into the problem document.
  const std::vector<std::pair<std::string, std::string>>& extra() const { return extra_; }
  Status& With(std::string key, std::string value) {
    extra_.emplace_back(std::move(key), std::move(value));
    return *this;
  }

  // "invite_pending: ..." for logs.
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::vector<std::pair<std::string, std::string>> extra_;
};

inline Status Error(ErrorCode code, std::string message) {
  return Status(code, std::move(message));
}

// Result<T>: a value or a non-ok Status. Same surface as std::expected where we use it.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(implicit)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(implicit)
    assert(!std::get<Status>(v_).ok() && "Result built from an ok Status");
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  // The error, for propagation: `if (!r) return r.error();`
  const Status& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace roster

// Propagates a non-ok Status from an expression returning Status.
#define ROSTER_RETURN_IF_ERROR(expr)      \
  do {                                    \
    ::roster::Status _st = (expr);        \
    if (!_st.ok()) return _st;            \
  } while (0)
