// The event vocabulary as C++ values. One struct per event type, mirroring events.capnp.
//
// Each struct lists its fields through `Fields(v)` in schema ordinal order; the codec
// (codec.cc) and the JSON rendering (json.cc) are written once against that visitor,
// so adding an event is: a type number, a capnp struct, a C++ struct, a variant entry
// (docs/adding_an_event.md). Field names are snake_case here and camelCase in capnp.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/clock.h"
#include "base/crypto.h"

namespace roster::events {

// Event type numbers: stable forever, never reused; gaps leave room per group.
enum class EventType : uint16_t {
  kAccountOpened = 1,
  kAccountMemberAdded = 2,
  kAccountMemberRoleChanged = 3,
  kAccountMemberRemoved = 4,
  kWorkspaceCreated = 10,
  kRoleDefined = 11,
  kRoleChanged = 20,
  kAccessChanged = 21,
  kScopeChanged = 22,
  kMemberRemoved = 23,
  kInviteSent = 30,
  kInviteResent = 31,
  kInviteCancelled = 32,
  kInviteAccepted = 33,
  kInviteSuperseded = 34,
  kLinkCreated = 40,
  kLinkRoleChanged = 41,
  kLinkRegenerated = 42,
  kLinkDisabled = 43,
  kLinkJoined = 44,
  kPartnerInvited = 50,
  kPartnerAccepted = 51,
  kPartnerAccessChanged = 52,
  kPartnerSetsAssigned = 53,
  kPartnerSetsRevoked = 54,
  kPartnerSuspended = 55,
  kPartnerResumed = 56,
  kPartnerRevoked = 57,
  kSharedAccessGranted = 60,
  kSharedAccessRemoved = 61,
  kSharedAccessRetired = 62,
  kSubjectErased = 70,
};

// Binary field (capnp Data): email keys, token hashes. Rendered as hex in JSON.
struct Bytes {
  std::string data;
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

// Per-module access overrides: module → level (none | view | edit | manage).
using AccessMap = std::map<std::string, std::string>;
using StringList = std::vector<std::string>;

// Scope restriction; an empty list means "all" in that dimension.
struct Scope {
  StringList markets;
  StringList sets;
  StringList groups;
  bool Unrestricted() const { return markets.empty() && sets.empty() && groups.empty(); }
  friend bool operator==(const Scope&, const Scope&) = default;
};

#define ROSTER_EVENT(Name)                                     \
  static constexpr EventType kType = EventType::k##Name;       \
  static constexpr std::string_view kName = #Name;             \
  friend bool operator==(const Name&, const Name&) = default;

// ---- Account ----
struct AccountOpened {
  ROSTER_EVENT(AccountOpened)
  std::string account_id, name, plan, region, owner_user_id;
  Bytes owner_email_key;
  std::string owner_subject;
  template <class V>
  void Fields(V& v) {
    v("account_id", account_id), v("name", name), v("plan", plan), v("region", region),
        v("owner_user_id", owner_user_id), v("owner_email_key", owner_email_key),
        v("owner_subject", owner_subject);
  }
};

struct AccountMemberAdded {
  ROSTER_EVENT(AccountMemberAdded)
  std::string user_id;
  Bytes email_key;
  std::string subject, role;
  template <class V>
  void Fields(V& v) {
    v("user_id", user_id), v("email_key", email_key), v("subject", subject), v("role", role);
  }
};

struct AccountMemberRoleChanged {
  ROSTER_EVENT(AccountMemberRoleChanged)
  std::string user_id, from_role, to_role;
  template <class V>
  void Fields(V& v) {
    v("user_id", user_id), v("from_role", from_role), v("to_role", to_role);
  }
};

struct AccountMemberRemoved {
  ROSTER_EVENT(AccountMemberRemoved)
  std::string user_id, role;
  template <class V>
  void Fields(V& v) {
    v("user_id", user_id), v("role", role);
  }
};

// ---- Workspace ----
struct WorkspaceCreated {
  ROSTER_EVENT(WorkspaceCreated)
  std::string workspace_id, name, template_name;
  int64_t invite_ttl_seconds = 0;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("name", name), v("template", template_name),
        v("invite_ttl_seconds", invite_ttl_seconds);
  }
};

struct RoleDefined {
  ROSTER_EVENT(RoleDefined)
  std::string workspace_id, role;
  StringList permissions;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("role", role), v("permissions", permissions);
  }
};

// ---- Workspace members ----
struct RoleChanged {
  ROSTER_EVENT(RoleChanged)
  std::string workspace_id, user_id, from_role, to_role;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("user_id", user_id), v("from_role", from_role),
        v("to_role", to_role);
  }
};

struct AccessChanged {
  ROSTER_EVENT(AccessChanged)
  std::string workspace_id, user_id;
  AccessMap access;  // the full override set after the change
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("user_id", user_id), v("access", access);
  }
};

struct ScopeChanged {
  ROSTER_EVENT(ScopeChanged)
  std::string workspace_id, user_id;
  Scope scope;  // the full scope after the change
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("user_id", user_id), v("scope", scope);
  }
};

struct MemberRemoved {
  ROSTER_EVENT(MemberRemoved)
  std::string workspace_id, user_id, role;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("user_id", user_id), v("role", role);
  }
};

// ---- Invitations ----
struct InviteSent {
  ROSTER_EVENT(InviteSent)
  std::string workspace_id, invitation_id;
  Bytes email_key;
  std::string subject, role;
  AccessMap access;
  Scope scope;
  Bytes token_hash;
  Micros expires_at = 0;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("invitation_id", invitation_id), v("email_key", email_key),
        v("subject", subject), v("role", role), v("access", access), v("scope", scope),
        v("token_hash", token_hash), v("expires_at", expires_at);
  }
};

struct InviteResent {
  ROSTER_EVENT(InviteResent)
  std::string workspace_id, invitation_id;
  Bytes token_hash;
  Micros expires_at = 0;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("invitation_id", invitation_id),
        v("token_hash", token_hash), v("expires_at", expires_at);
  }
};

struct InviteCancelled {
  ROSTER_EVENT(InviteCancelled)
  std::string workspace_id, invitation_id;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("invitation_id", invitation_id);
  }
};

struct InviteAccepted {
  ROSTER_EVENT(InviteAccepted)
  std::string workspace_id, invitation_id, user_id;
  Bytes email_key;
  std::string subject, role;
  AccessMap access;
  Scope scope;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("invitation_id", invitation_id), v("user_id", user_id),
        v("email_key", email_key), v("subject", subject), v("role", role), v("access", access),
        v("scope", scope);
  }
};

struct InviteSuperseded {
  ROSTER_EVENT(InviteSuperseded)
  std::string workspace_id, invitation_id, superseded_by;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("invitation_id", invitation_id),
        v("superseded_by", superseded_by);
  }
};

// ---- Invite link ----
struct LinkCreated {
  ROSTER_EVENT(LinkCreated)
  std::string workspace_id, role;
  Bytes token_hash;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("role", role), v("token_hash", token_hash);
  }
};

struct LinkRoleChanged {
  ROSTER_EVENT(LinkRoleChanged)
  std::string workspace_id, from_role, to_role;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("from_role", from_role), v("to_role", to_role);
  }
};

struct LinkRegenerated {
  ROSTER_EVENT(LinkRegenerated)
  std::string workspace_id;
  Bytes token_hash;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("token_hash", token_hash);
  }
};

struct LinkDisabled {
  ROSTER_EVENT(LinkDisabled)
  std::string workspace_id;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id);
  }
};

struct LinkJoined {
  ROSTER_EVENT(LinkJoined)
  std::string workspace_id, user_id;
  Bytes email_key;
  std::string subject, role;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("user_id", user_id), v("email_key", email_key),
        v("subject", subject), v("role", role);
  }
};

// ---- Partners ----
struct PartnerInvited {
  ROSTER_EVENT(PartnerInvited)
  std::string workspace_id, partner_id, partner_account_id, access_level;
  StringList sets;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id),
        v("partner_account_id", partner_account_id), v("access_level", access_level),
        v("sets", sets);
  }
};

struct PartnerAccepted {
  ROSTER_EVENT(PartnerAccepted)
  std::string workspace_id, partner_id, accepted_by;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id), v("accepted_by", accepted_by);
  }
};

struct PartnerAccessChanged {
  ROSTER_EVENT(PartnerAccessChanged)
  std::string workspace_id, partner_id, from_level, to_level;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id), v("from_level", from_level),
        v("to_level", to_level);
  }
};

// Assigned/Revoked sets and Suspended/Resumed/Revoked share a shape but stay distinct
// types: the type is the fact, and each keeps its own number forever.
struct PartnerSetsAssigned {
  ROSTER_EVENT(PartnerSetsAssigned)
  std::string workspace_id, partner_id;
  StringList sets;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id), v("sets", sets);
  }
};

struct PartnerSetsRevoked {
  ROSTER_EVENT(PartnerSetsRevoked)
  std::string workspace_id, partner_id;
  StringList sets;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id), v("sets", sets);
  }
};

struct PartnerSuspended {
  ROSTER_EVENT(PartnerSuspended)
  std::string workspace_id, partner_id, reason;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id), v("reason", reason);
  }
};

struct PartnerResumed {
  ROSTER_EVENT(PartnerResumed)
  std::string workspace_id, partner_id, reason;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id), v("reason", reason);
  }
};

struct PartnerRevoked {
  ROSTER_EVENT(PartnerRevoked)
  std::string workspace_id, partner_id, reason;
  template <class V>
  void Fields(V& v) {
    v("workspace_id", workspace_id), v("partner_id", partner_id), v("reason", reason);
  }
};

// ---- Shared access ----
struct SharedAccessGranted {
  ROSTER_EVENT(SharedAccessGranted)
  std::string grantee_user_id, grantee_account_id;
  bool all_containers = false;
  StringList containers;
  bool billing = false;
  template <class V>
  void Fields(V& v) {
    v("grantee_user_id", grantee_user_id), v("grantee_account_id", grantee_account_id),
        v("all_containers", all_containers), v("containers", containers), v("billing", billing);
  }
};

struct SharedAccessRemoved {
  ROSTER_EVENT(SharedAccessRemoved)
  std::string grantee_user_id;
  template <class V>
  void Fields(V& v) {
    v("grantee_user_id", grantee_user_id);
  }
};

struct SharedAccessRetired {
  ROSTER_EVENT(SharedAccessRetired)
  std::string grantee_user_id;
  template <class V>
  void Fields(V& v) {
    v("grantee_user_id", grantee_user_id);
  }
};

// ---- Privacy ----
struct SubjectErased {
  ROSTER_EVENT(SubjectErased)
  Bytes email_key;
  uint32_t subjects_removed = 0;
  template <class V>
  void Fields(V& v) {
    v("email_key", email_key), v("subjects_removed", subjects_removed);
  }
};

#undef ROSTER_EVENT

// Every event. The order here is irrelevant to the format (type numbers are explicit).
using Event = std::variant<
    AccountOpened, AccountMemberAdded, AccountMemberRoleChanged, AccountMemberRemoved,
    WorkspaceCreated, RoleDefined, RoleChanged, AccessChanged, ScopeChanged, MemberRemoved,
    InviteSent, InviteResent, InviteCancelled, InviteAccepted, InviteSuperseded, LinkCreated,
    LinkRoleChanged, LinkRegenerated, LinkDisabled, LinkJoined, PartnerInvited, PartnerAccepted,
    PartnerAccessChanged, PartnerSetsAssigned, PartnerSetsRevoked, PartnerSuspended,
    PartnerResumed, PartnerRevoked, SharedAccessGranted, SharedAccessRemoved,
    SharedAccessRetired, SubjectErased>;

EventType TypeOf(const Event& e);
std::string_view TypeName(EventType type);  // "InviteSent"; "Unknown" for an unknown number
std::string_view TypeName(const Event& e);
// Name → type; false for an unknown name.
bool TypeFromName(std::string_view name, EventType* out);
// Every known type, ascending by number.
const std::vector<EventType>& AllEventTypes();

// The stored envelope of one event (events.capnp Envelope), plus its hash.
struct Envelope {
  uint64_t position = 0;
  std::string stream;
  uint64_t version = 0;
  EventType type = EventType::kAccountOpened;
  Micros recorded_at = 0;
  std::string actor;
  std::string correlation_id;
  std::string causation_id;
  std::string idempotency_key;
  std::string payload;  // EncodeEvent() bytes
  Hash256 prev_hash{};
  Hash256 hash{};
  friend bool operator==(const Envelope&, const Envelope&) = default;
};

// An envelope with its decoded body, as readers and projections see it.
struct RecordedEvent {
  Envelope envelope;
  Event event;
};

}  // namespace roster::events
