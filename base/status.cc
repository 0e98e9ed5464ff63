#include "base/status.h"

namespace roster {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk: return "ok";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kInvitePending: return "invite_pending";
    case ErrorCode::kAlreadyMember: return "already_member";
    case ErrorCode::kAlreadyExists: return "already_exists";
    case ErrorCode::kCannotInviteSelf: return "cannot_invite_self";
    case ErrorCode::kInviteExpired: return "invite_expired";
    case ErrorCode::kInviteNotPending: return "invite_not_pending";
    case ErrorCode::kInvalidToken: return "invalid_token";
    case ErrorCode::kInviteEmailMismatch: return "invite_email_mismatch";
    case ErrorCode::kCannotModifySelf: return "cannot_modify_self";
    case ErrorCode::kAccountMemberImmutable: return "account_member_immutable";
    case ErrorCode::kLastAdmin: return "last_admin";
    case ErrorCode::kAdminLinkUnconfirmed: return "admin_link_unconfirmed";
    case ErrorCode::kUnknownRole: return "unknown_role";
    case ErrorCode::kInvalidEmail: return "invalid_email";
    case ErrorCode::kInvalidAccess: return "invalid_access";
    case ErrorCode::kPartnerRevoked: return "partner_revoked";
    case ErrorCode::kPartnerNotActive: return "partner_not_active";
    case ErrorCode::kNotPartnerAccount: return "not_partner_account";
    case ErrorCode::kPlanNotEligible: return "plan_not_eligible";
    case ErrorCode::kRegionMismatch: return "region_mismatch";
    case ErrorCode::kNotFound: return "not_found";
    case ErrorCode::kInvalidField: return "invalid_field";
    case ErrorCode::kVersionConflict: return "version_conflict";
    case ErrorCode::kUnauthenticated: return "unauthenticated";
    case ErrorCode::kMalformedJson: return "malformed_json";
    case ErrorCode::kBodyTooLarge: return "body_too_large";
    case ErrorCode::kMethodNotAllowed: return "method_not_allowed";
    case ErrorCode::kIdempotencyKeyReused: return "idempotency_key_reused";
    case ErrorCode::kTooManyRequests: return "too_many_requests";
    case ErrorCode::kIoError: return "io_error";
    case ErrorCode::kCorruption: return "corruption";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kInternal: return "internal";
  }
  return "internal";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s(code_name());
  s += ": ";
  s += message_;
  return s;
}

}  // namespace roster
