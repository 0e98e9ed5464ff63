# Roster event log schema. The stable, documented on-disk format (docs/event_format.md).
#
# Rules (never break them; the log is forever):
#  - An event type's number (EventType in event_types.h) is never reused or renumbered.
#  - Every field keeps its ordinal forever. Add fields only at the end with a new ordinal.
#  - Never change a field's type; add a new field and stop writing the old one instead.
#  - Field order in each struct's C++ Fields() visitor equals ordinal order (tested).

@0xc4a1f2d9b7e63a58;

$import "/capnp/c++.capnp".namespace("roster::schema");

# The envelope: one per event, stored under its global position.
# Canonical bytes = this message serialized as a flat array with `hash` absent
# (the hash is stored beside it); hash = SHA256(prevHash ‖ canonical bytes).
struct Envelope {
  position @0 :UInt64;        # global order, gapless from 1
  stream @1 :Text;            # "account-<id>" or "privacy"
  version @2 :UInt64;         # the stream's version after this event, from 1
  type @3 :UInt16;            # EventType number
  recordedAt @4 :Int64;       # server time, µs since the Unix epoch, UTC
  actor @5 :Text;             # "user:<id>", "service", "service:<name>" or "system"
  correlationId @6 :Text;
  causationId @7 :Text;
  idempotencyKey @8 :Text;    # empty when none
  payload @9 :Data;           # the event body: a flat single-segment message of the type's struct
  prevHash @10 :Data;         # 32 bytes; zeros for position 1
}

struct ModuleAccess {
  module @0 :Text;
  level @1 :Text;             # none | view | edit | manage
}

struct Scope {
  markets @0 :List(Text);     # empty = all markets
  sets @1 :List(Text);        # empty = all sets
  groups @2 :List(Text);      # empty = all groups
}

# ---- Account (types 1-9) ----
struct AccountOpened {        # type 1
  accountId @0 :Text;
  name @1 :Text;
  plan @2 :Text;              # standard | agency | partner | enterprise
  region @3 :Text;            # global | eu
  ownerUserId @4 :Text;
  ownerEmailKey @5 :Data;     # HMAC-SHA256(ledger secret, lower-cased email)
  ownerSubject @6 :Text;      # PII vault reference
}

struct AccountMemberAdded {   # type 2
  userId @0 :Text;
  emailKey @1 :Data;
  subject @2 :Text;
  role @3 :Text;              # owner | admin | viewer
}

struct AccountMemberRoleChanged {  # type 3
  userId @0 :Text;
  fromRole @1 :Text;
  toRole @2 :Text;
}

struct AccountMemberRemoved { # type 4
  userId @0 :Text;
  role @1 :Text;
}

# ---- Workspace (types 10-19) ----
struct WorkspaceCreated {     # type 10
  workspaceId @0 :Text;
  name @1 :Text;
  template @2 :Text;          # standard | orders | partner_program
  inviteTtlSeconds @3 :Int64;
}

struct RoleDefined {          # type 11
  workspaceId @0 :Text;
  role @1 :Text;
  permissions @2 :List(Text);
}

# ---- Workspace members (types 20-29) ----
struct RoleChanged {          # type 20
  workspaceId @0 :Text;
  userId @1 :Text;
  fromRole @2 :Text;
  toRole @3 :Text;
}

struct AccessChanged {        # type 21; `access` is the member's full override set afterwards
  workspaceId @0 :Text;
  userId @1 :Text;
  access @2 :List(ModuleAccess);
}

struct ScopeChanged {         # type 22; `scope` is the member's full scope afterwards
  workspaceId @0 :Text;
  userId @1 :Text;
  scope @2 :Scope;
}

struct MemberRemoved {        # type 23
  workspaceId @0 :Text;
  userId @1 :Text;
  role @2 :Text;
}

# ---- Invitations (types 30-39) ----
struct InviteSent {           # type 30
  workspaceId @0 :Text;
  invitationId @1 :Text;
  emailKey @2 :Data;
  subject @3 :Text;
  role @4 :Text;
  access @5 :List(ModuleAccess);
  scope @6 :Scope;
  tokenHash @7 :Data;         # SHA-256 of the token; the token itself is never stored
  expiresAt @8 :Int64;        # µs since the epoch
}

struct InviteResent {         # type 31
  workspaceId @0 :Text;
  invitationId @1 :Text;
  tokenHash @2 :Data;
  expiresAt @3 :Int64;
}

struct InviteCancelled {      # type 32
  workspaceId @0 :Text;
  invitationId @1 :Text;
}

struct InviteAccepted {       # type 33
  workspaceId @0 :Text;
  invitationId @1 :Text;
  userId @2 :Text;
  emailKey @3 :Data;
  subject @4 :Text;
  role @5 :Text;
  access @6 :List(ModuleAccess);
  scope @7 :Scope;
}

struct InviteSuperseded {     # type 34
  workspaceId @0 :Text;
  invitationId @1 :Text;
  supersededBy @2 :Text;
}

# ---- Invite link (types 40-49) ----
struct LinkCreated {          # type 40
  workspaceId @0 :Text;
  role @1 :Text;
  tokenHash @2 :Data;
}

struct LinkRoleChanged {      # type 41
  workspaceId @0 :Text;
  fromRole @1 :Text;
  toRole @2 :Text;
}

struct LinkRegenerated {      # type 42
  workspaceId @0 :Text;
  tokenHash @1 :Data;
}

struct LinkDisabled {         # type 43
  workspaceId @0 :Text;
}

struct LinkJoined {           # type 44
  workspaceId @0 :Text;
  userId @1 :Text;
  emailKey @2 :Data;
  subject @3 :Text;
  role @4 :Text;
}

# ---- Partners (types 50-59) ----
struct PartnerInvited {       # type 50
  workspaceId @0 :Text;
  partnerId @1 :Text;
  partnerAccountId @2 :Text;
  accessLevel @3 :Text;       # view | download | edit
  sets @4 :List(Text);
}

struct PartnerAccepted {      # type 51
  workspaceId @0 :Text;
  partnerId @1 :Text;
  acceptedBy @2 :Text;        # user id of the partner account's admin
}

struct PartnerAccessChanged { # type 52
  workspaceId @0 :Text;
  partnerId @1 :Text;
  fromLevel @2 :Text;
  toLevel @3 :Text;
}

struct PartnerSetsAssigned {  # type 53
  workspaceId @0 :Text;
  partnerId @1 :Text;
  sets @2 :List(Text);
}

struct PartnerSetsRevoked {   # type 54
  workspaceId @0 :Text;
  partnerId @1 :Text;
  sets @2 :List(Text);
}

struct PartnerSuspended {     # type 55
  workspaceId @0 :Text;
  partnerId @1 :Text;
  reason @2 :Text;
}

struct PartnerResumed {       # type 56
  workspaceId @0 :Text;
  partnerId @1 :Text;
  reason @2 :Text;
}

struct PartnerRevoked {       # type 57
  workspaceId @0 :Text;
  partnerId @1 :Text;
  reason @2 :Text;
}

# ---- Shared access (types 60-69) ----
struct SharedAccessGranted {  # type 60
  granteeUserId @0 :Text;
  granteeAccountId @1 :Text;
  allContainers @2 :Bool;     # true: every current and future container
  containers @3 :List(Text);
  billing @4 :Bool;
}

struct SharedAccessRemoved {  # type 61; the owner removed the grant
  granteeUserId @0 :Text;
}

struct SharedAccessRetired {  # type 62; the grantee stepped away
  granteeUserId @0 :Text;
}

# ---- Privacy (types 70-79) ----
struct SubjectErased {        # type 70; stream "privacy"; carries no personal data
  emailKey @0 :Data;
  subjectsRemoved @1 :UInt32;
}
