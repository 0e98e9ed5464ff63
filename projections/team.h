// The team projector: what the Team settings pages show besides the members themselves
// (those are the access projector's workspace and account members): invitations and
// their lifecycle, the invite link card, each partner relationship's event history, and
// per-user notifications.
//
// No personal data is kept: invitations keep the email key and the vault subject;
// emails are resolved at read time (queries.h). Notification texts are rendered at read
// time from ids (names of workspaces and accounts never change).
#pragma once

#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "projections/access.h"
#include "projections/catalog.h"

namespace roster::projections {

enum class InviteState : uint8_t { kPending = 0, kAccepted = 1, kCancelled = 2, kSuperseded = 3 };

struct Invitation {
  uint32_t id = kNone;  // label id of invitation_id
  uint32_t workspace = kNone;
  std::string email_key;
  std::string subject;
  uint32_t role = kNone;  // label id
  events::AccessMap access;
  events::Scope scope;
  InviteState state = InviteState::kPending;
  uint32_t invited_by = kNone;  // label id of the actor
  uint64_t sent_position = 0;
  Micros first_sent_at = 0;
  Micros sent_at = 0;  // latest send (resend moves it)
  Micros expires_at = 0;
};

struct InviteLink {
  uint32_t role = kNone;
  bool enabled = false;
  Micros created_at = 0;
  uint32_t created_by = kNone;
  uint64_t created_position = 0;
  Micros updated_at = 0;
};

// One event of a partner relationship, kept whole for the detail page's history.
struct PartnerEvent {
  uint64_t position = 0;
  Micros at = 0;
  uint32_t actor = kNone;
  events::Event event;
};

enum class NoteKind : uint8_t {
  kInvited = 0,
  kInviteResent = 1,
  kInviteCancelled = 2,
  kAccountAdded = 3,
  kRoleChanged = 4,
  kAccessChanged = 5,
  kScopeChanged = 6,
  kRemoved = 7,
  kAccountRoleChanged = 8,
  kAccountRemoved = 9,
  kPartnerInvited = 10,
  kPartnerAccepted = 11,
  kPartnerAccessChanged = 12,
  kPartnerSetsChanged = 13,
  kPartnerSuspended = 14,
  kPartnerResumed = 15,
  kPartnerRevoked = 16,
  kShareGranted = 17,
  kShareRemoved = 18,
  kJoined = 19,
};

// A notification, rendered at read time. `a` is a workspace id (or an account id for
// account and share notes), `b`/`c` label ids or an account id, by kind.
struct Note {
  uint64_t position = 0;
  Micros at = 0;
  NoteKind kind = NoteKind::kInvited;
  uint32_t a = kNone, b = kNone, c = kNone;
};

class Team {
 public:
  Team() = default;
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;

  // After catalog and access have applied the same event.
  void Apply(const events::RecordedEvent& recorded, const Catalog& catalog, const Access& access,
             const EventIds& ids);

  const Invitation* FindInvitation(uint32_t label) const {
    if (label >= invitation_index_.size() || invitation_index_[label] == kNone) return nullptr;
    return &invitations_[invitation_index_[label]];
  }
  const std::vector<uint32_t>& WorkspaceInvitations(uint32_t ws) const;  // indexes, sent order
  const Invitation& invitation_at(uint32_t index) const { return invitations_[index]; }
  const InviteLink* FindLink(uint32_t ws) const {
    auto it = links_.find(ws);
    return it == links_.end() ? nullptr : &it->second;
  }
  const std::vector<PartnerEvent>& PartnerHistory(uint32_t partner_label) const;
  const std::vector<Note>& UserNotes(uint32_t user) const;
  const std::vector<Note>& EmailNotes(const std::string& email_key) const;

  static std::string_view NoteKindName(NoteKind kind);
  static std::string NoteText(const Note& note, const Catalog& catalog);

  void Save(Writer& w) const;
  // Loads into a freshly constructed Team; the catalog must be loaded first.
  bool Load(Reader& r, const Catalog& catalog);

 private:
  std::vector<Invitation> invitations_;                    // sent order
  // Indexed by dense ids (label, workspace, user, email key id): no hashing on apply.
  std::vector<uint32_t> invitation_index_;                 // label → index (kNone: none)
  std::vector<std::vector<uint32_t>> ws_invitations_;       // derived
  boost::unordered_flat_map<uint32_t, InviteLink> links_;  // by workspace
  boost::unordered_flat_map<uint32_t, std::vector<PartnerEvent>> partner_history_;  // by label
  std::vector<std::vector<Note>> user_notes_;   // by user id
  Interner email_keys_;                           // email keys that received notes
  std::vector<std::vector<Note>> email_notes_;  // by email_keys_ id
};

}  // namespace roster::projections
