#include "projections/team.h"

#include <algorithm>
#include <cstring>

#include "events/codec.h"
#include "projections/fields.h"

namespace roster::projections {
namespace {

template <class M>
std::vector<typename M::key_type> SortedKeys(const M& m) {
  std::vector<typename M::key_type> keys;
  keys.reserve(m.size());
  for (const auto& [k, v] : m) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  return keys;
}

void SaveNotes(Writer& w, const std::vector<const Note*>& notes) {
  w.U64(notes.size());
  uint64_t prev = 0;
  for (const Note* n : notes) {
    w.U64(n->position - prev);
    prev = n->position;
    w.I64(n->at);
    w.U8(static_cast<uint8_t>(n->kind));
    w.U32(n->a);
    w.U32(n->b);
    w.U32(n->c);
  }
}

// Appends the notes of one owner; false when corrupt.
bool LoadNotes(Reader& r, uint32_t owner, Chains<Note>& chains) {
  size_t n = r.Count(7);
  uint64_t prev = 0;
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Note note;
    note.position = prev + r.U64();
    prev = note.position;
    note.at = r.I64();
    note.kind = static_cast<NoteKind>(r.U8());
    if (static_cast<uint8_t>(note.kind) > static_cast<uint8_t>(NoteKind::kJoined)) r.Fail();
    note.a = r.U32();
    note.b = r.U32();
    note.c = r.U32();
    chains.Add(owner, note);
  }
  return r.ok();
}

std::shared_ptr<const GrantExtras> InvitationExtras(const events::AccessMap& access,
                                                    const events::Scope& scope) {
  if (access.empty() && scope.Unrestricted()) return nullptr;
  auto x = std::make_shared<GrantExtras>();
  x->access = access;
  x->scope = scope;
  return x;
}

template <class T>
T& Slot(std::vector<T>& v, uint32_t id, const T& fill = T()) {
  if (id >= v.size()) v.resize(std::max<size_t>(id + 1, v.size() * 3 / 2), fill);
  return v[id];
}

}  // namespace

std::string_view Team::Pool(std::string_view s) {
  if (s.empty()) return {};
  if (pool_used_ + s.size() > pool_size_) {
    pool_size_ = std::max<size_t>(s.size(), 1 << 20);
    pool_.push_back(std::make_unique_for_overwrite<char[]>(pool_size_));
    pool_used_ = 0;
  }
  char* at = pool_.back().get() + pool_used_;
  std::memcpy(at, s.data(), s.size());
  pool_used_ += s.size();
  return {at, s.size()};
}

void Team::Apply(const events::RecordedEvent& r, const Catalog& /*catalog*/, const Access& access,
                 const EventIds& ids) {
  const events::Envelope& env = r.envelope;
  const uint64_t p = env.position;
  const Micros t = env.recorded_at;
  const uint32_t actor = ids.actor;
  const uint32_t account = ids.account;
  const uint32_t ws = ids.workspace;

  // Every id below was resolved once by Catalog::Apply (ids): no string lookups here.
  auto note_user = [&](NoteKind kind, uint32_t a, uint32_t b = kNone, uint32_t cc = kNone) {
    if (ids.user == kNone) return;
    user_notes_.Add(ids.user, Note{p, t, kind, a, b, cc});
  };
  auto find_invitation = [&]() -> Invitation* {
    uint32_t label = ids.item;
    if (label >= invitation_index_.size() || invitation_index_[label] == kNone) return nullptr;
    return &invitations_[invitation_index_[label]];
  };
  // Partner notes go to the partner account's members at the time.
  auto note_partner = [&](NoteKind kind, uint32_t b = kNone) {
    uint32_t label = ids.item;
    const Partner* pr = access.FindPartner(label);
    if (pr == nullptr) return;
    partner_history_.Add(label, PartnerEvent{p, t, actor});
    for (uint32_t user : access.AccountUsers(pr->partner_account)) {
      const AccountMember* m = access.FindAccountMember(pr->partner_account, user);
      if (m != nullptr && m->live) {
        user_notes_.Add(user, Note{p, t, kind, pr->workspace, pr->partner_account, b});
      }
    }
  };
  auto link = [&]() -> InviteLink* {
    auto it = links_.find(ws);
    return it == links_.end() ? nullptr : &it->second;
  };

  std::visit(
      Overloaded{
          [&](const events::AccountMemberAdded&) {
            note_user(NoteKind::kAccountAdded, account, ids.role);
          },
          [&](const events::AccountMemberRoleChanged&) {
            note_user(NoteKind::kAccountRoleChanged, account,
                      ids.from_role, ids.role);
          },
          [&](const events::AccountMemberRemoved&) {
            note_user(NoteKind::kAccountRemoved, account);
          },
          [&](const events::RoleChanged&) {
            note_user(NoteKind::kRoleChanged, ws, ids.from_role,
                      ids.role);
          },
          [&](const events::AccessChanged&) {
            note_user(NoteKind::kAccessChanged, ws);
          },
          [&](const events::ScopeChanged&) { note_user(NoteKind::kScopeChanged, ws); },
          [&](const events::MemberRemoved&) { note_user(NoteKind::kRemoved, ws); },
          [&](const events::InviteSent& e) {
            uint32_t label = ids.item;
            if (ws == kNone || FindInvitation(label) != nullptr) return;
            Invitation inv;
            inv.id = label;
            inv.workspace = ws;
            inv.email_key = email_keys_.Intern(e.email_key.data);
            inv.subject = Pool(e.subject);
            inv.role = ids.role;
            inv.extras = InvitationExtras(e.access, e.scope);
            inv.invited_by = actor;
            inv.sent_position = p;
            inv.first_sent_at = t;
            inv.sent_at = t;
            inv.expires_at = e.expires_at;
            auto index = static_cast<uint32_t>(invitations_.size());
            uint32_t key = inv.email_key;
            invitations_.push_back(std::move(inv));
            Slot(invitation_index_, label, kNone) = index;
            Slot(ws_invitations_, ws).push_back(index);
            email_notes_.Add(key, Note{p, t, NoteKind::kInvited, ws, ids.role});
          },
          [&](const events::InviteResent& e) {
            if (Invitation* inv = find_invitation()) {
              inv->sent_at = t;
              inv->expires_at = e.expires_at;
              email_notes_.Add(inv->email_key, Note{p, t, NoteKind::kInviteResent, ws});
            }
          },
          [&](const events::InviteCancelled&) {
            if (Invitation* inv = find_invitation()) {
              inv->state = InviteState::kCancelled;
              email_notes_.Add(inv->email_key, Note{p, t, NoteKind::kInviteCancelled, ws});
            }
          },
          [&](const events::InviteSuperseded&) {
            if (Invitation* inv = find_invitation()) {
              inv->state = InviteState::kSuperseded;
            }
          },
          [&](const events::InviteAccepted&) {
            if (Invitation* inv = find_invitation()) {
              inv->state = InviteState::kAccepted;
            }
            note_user(NoteKind::kJoined, ws, ids.role);
          },
          [&](const events::LinkCreated&) {
            InviteLink& l = links_[ws];
            l.role = ids.role;
            l.enabled = true;
            l.created_at = t;
            l.created_by = actor;
            l.created_position = p;
            l.updated_at = t;
          },
          [&](const events::LinkRoleChanged&) {
            if (InviteLink* l = link()) {
              l->role = ids.role;
              l->updated_at = t;
            }
          },
          [&](const events::LinkRegenerated&) {
            if (InviteLink* l = link()) {
              l->enabled = true;
              l->updated_at = t;
            }
          },
          [&](const events::LinkDisabled&) {
            if (InviteLink* l = link()) {
              l->enabled = false;
              l->updated_at = t;
            }
          },
          [&](const events::LinkJoined&) {
            note_user(NoteKind::kJoined, ws, ids.role);
          },
          [&](const events::PartnerInvited&) {
            note_partner(NoteKind::kPartnerInvited);
          },
          [&](const events::PartnerAccepted&) {
            note_partner(NoteKind::kPartnerAccepted);
          },
          [&](const events::PartnerAccessChanged&) {
            note_partner(NoteKind::kPartnerAccessChanged, ids.role);
          },
          [&](const events::PartnerSetsAssigned&) {
            note_partner(NoteKind::kPartnerSetsChanged);
          },
          [&](const events::PartnerSetsRevoked&) {
            note_partner(NoteKind::kPartnerSetsChanged);
          },
          [&](const events::PartnerSuspended&) {
            note_partner(NoteKind::kPartnerSuspended);
          },
          [&](const events::PartnerResumed&) {
            note_partner(NoteKind::kPartnerResumed);
          },
          [&](const events::PartnerRevoked&) {
            note_partner(NoteKind::kPartnerRevoked);
          },
          [&](const events::SharedAccessGranted&) {
            note_user(NoteKind::kShareGranted, account);
          },
          [&](const events::SharedAccessRemoved&) {
            note_user(NoteKind::kShareRemoved, account);
          },
          [&](const auto&) {},
      },
      r.event);
}

const std::vector<uint32_t>& Team::WorkspaceInvitations(uint32_t ws) const {
  static const std::vector<uint32_t> kEmpty;
  return ws < ws_invitations_.size() ? ws_invitations_[ws] : kEmpty;
}

std::vector<const Note*> Team::EmailNotes(std::string_view key) const {
  return email_notes_.List(email_keys_.Find(key));
}

std::string_view Team::NoteKindName(NoteKind kind) {
  switch (kind) {
    case NoteKind::kInvited: return "invited";
    case NoteKind::kInviteResent: return "invite_resent";
    case NoteKind::kInviteCancelled: return "invite_cancelled";
    case NoteKind::kAccountAdded: return "account_added";
    case NoteKind::kRoleChanged: return "role_changed";
    case NoteKind::kAccessChanged: return "access_changed";
    case NoteKind::kScopeChanged: return "scope_changed";
    case NoteKind::kRemoved: return "removed";
    case NoteKind::kAccountRoleChanged: return "role_changed";
    case NoteKind::kAccountRemoved: return "removed";
    case NoteKind::kPartnerInvited: return "partner_invited";
    case NoteKind::kPartnerAccepted: return "partner_accepted";
    case NoteKind::kPartnerAccessChanged: return "partner_access_changed";
    case NoteKind::kPartnerSetsChanged: return "partner_sets_changed";
    case NoteKind::kPartnerSuspended: return "partner_suspended";
    case NoteKind::kPartnerResumed: return "partner_resumed";
    case NoteKind::kPartnerRevoked: return "partner_revoked";
    case NoteKind::kShareGranted: return "share_granted";
    case NoteKind::kShareRemoved: return "share_removed";
    case NoteKind::kJoined: return "joined";
  }
  return "unknown";
}

std::string Team::NoteText(const Note& n, const Catalog& c) {
  auto ws_name = [&](uint32_t id) -> std::string {
    const WorkspaceInfo* w = c.workspace(id);
    return w && !w->name.empty() ? w->name : c.workspaces.Name(id);
  };
  auto account_name = [&](uint32_t id) -> std::string {
    const AccountInfo* a = c.account(id);
    return a && !a->name.empty() ? a->name : c.accounts.Name(id);
  };
  const std::string& b = c.labels.Name(n.b);
  const std::string& cc = c.labels.Name(n.c);
  switch (n.kind) {
    case NoteKind::kInvited:
      return "You were invited to " + ws_name(n.a) + " as " + b;
    case NoteKind::kInviteResent:
      return "Your invitation to " + ws_name(n.a) + " was sent again";
    case NoteKind::kInviteCancelled:
      return "Your invitation to " + ws_name(n.a) + " was cancelled";
    case NoteKind::kAccountAdded:
      return "You were added to the account " + account_name(n.a) + " as " + b;
    case NoteKind::kRoleChanged:
      return "Your role in " + ws_name(n.a) + " changed from " + b + " to " + cc;
    case NoteKind::kAccessChanged:
      return "Your module access in " + ws_name(n.a) + " changed";
    case NoteKind::kScopeChanged:
      return "Your scope in " + ws_name(n.a) + " changed";
    case NoteKind::kRemoved:
      return "You were removed from " + ws_name(n.a);
    case NoteKind::kAccountRoleChanged:
      return "Your role in the account " + account_name(n.a) + " changed from " + b + " to " + cc;
    case NoteKind::kAccountRemoved:
      return "You were removed from the account " + account_name(n.a);
    case NoteKind::kPartnerInvited:
      return account_name(n.b) + " was invited as a partner of " + ws_name(n.a);
    case NoteKind::kPartnerAccepted:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) + " is active";
    case NoteKind::kPartnerAccessChanged:
      return "The partner access level of " + account_name(n.b) + " in " + ws_name(n.a) +
             " changed to " + cc;
    case NoteKind::kPartnerSetsChanged:
      return "The sets shared with " + account_name(n.b) + " in " + ws_name(n.a) + " changed";
    case NoteKind::kPartnerSuspended:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) +
             " was suspended";
    case NoteKind::kPartnerResumed:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) +
             " was resumed";
    case NoteKind::kPartnerRevoked:
      return "The partnership of " + account_name(n.b) + " with " + ws_name(n.a) +
             " was revoked";
    case NoteKind::kShareGranted:
      return account_name(n.a) + " shared access with you";
    case NoteKind::kShareRemoved:
      return account_name(n.a) + " removed your shared access";
    case NoteKind::kJoined:
      return "You joined " + ws_name(n.a) + " as " + b;
  }
  return {};
}

void Team::Save(Writer& w) const {
  // Email keys first (invitations refer to them by id), in first-seen order
  // (deterministic for a given log), each with its notes.
  w.U64(email_keys_.size());
  for (uint32_t id = 0; id < email_keys_.size(); ++id) {
    w.Str(email_keys_.Name(id));
    SaveNotes(w, email_notes_.List(id));
  }
  w.U64(invitations_.size());
  for (const Invitation& inv : invitations_) {
    w.U32(inv.id);
    w.U32(inv.workspace);
    w.U32(inv.email_key);
    w.Str(inv.subject);
    w.U32(inv.role);
    w.Access(inv.extras ? inv.extras->access : events::AccessMap{});
    w.Scope(inv.extras ? inv.extras->scope : events::Scope{});
    w.U8(static_cast<uint8_t>(inv.state));
    w.U32(inv.invited_by);
    w.U64(inv.sent_position);
    w.I64(inv.first_sent_at);
    w.I64(inv.sent_at);
    w.I64(inv.expires_at);
  }
  auto link_keys = SortedKeys(links_);
  w.U64(link_keys.size());
  for (uint32_t ws : link_keys) {
    const InviteLink& l = links_.at(ws);
    w.U32(ws);
    w.U32(l.role);
    w.Bool(l.enabled);
    w.I64(l.created_at);
    w.U32(l.created_by);
    w.U64(l.created_position);
    w.I64(l.updated_at);
  }
  size_t partners = 0;
  for (uint32_t label = 0; label < partner_history_.OwnerBound(); ++label) {
    partners += !partner_history_.Empty(label);
  }
  w.U64(partners);
  for (uint32_t label = 0; label < partner_history_.OwnerBound(); ++label) {
    if (partner_history_.Empty(label)) continue;
    auto history = partner_history_.List(label);
    w.U32(label);
    w.U64(history.size());
    for (const PartnerEvent* e : history) {
      w.U64(e->position);
      w.I64(e->at);
      w.U32(e->actor);
    }
  }
  size_t users = 0;
  for (uint32_t user = 0; user < user_notes_.OwnerBound(); ++user) users += !user_notes_.Empty(user);
  w.U64(users);
  for (uint32_t user = 0; user < user_notes_.OwnerBound(); ++user) {
    if (user_notes_.Empty(user)) continue;
    w.U32(user);
    SaveNotes(w, user_notes_.List(user));
  }
}

bool Team::Load(Reader& r, const Catalog&) {
  size_t n = r.Count(2);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    std::string key = r.Str();
    if (email_keys_.Find(key) != kNone) return false;
    if (!LoadNotes(r, email_keys_.Intern(key), email_notes_)) return false;
  }
  invitations_.resize(r.Count(8));
  for (uint32_t i = 0; i < invitations_.size() && r.ok(); ++i) {
    Invitation& inv = invitations_[i];
    inv.id = r.U32();
    inv.workspace = r.U32();
    inv.email_key = r.U32();
    inv.subject = Pool(r.View());
    inv.role = r.U32();
    events::AccessMap access = r.Access();
    events::Scope scope = r.Scope();
    inv.extras = InvitationExtras(access, scope);
    inv.state = static_cast<InviteState>(r.U8() & 3);
    inv.invited_by = r.U32();
    inv.sent_position = r.U64();
    inv.first_sent_at = r.I64();
    inv.sent_at = r.I64();
    inv.expires_at = r.I64();
    if (inv.id == kNone || inv.workspace == kNone || inv.email_key >= email_keys_.size()) {
      return false;
    }
    Slot(invitation_index_, inv.id, kNone) = i;
    Slot(ws_invitations_, inv.workspace).push_back(i);
  }
  n = r.Count(4);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    InviteLink& l = links_[r.U32()];
    l.role = r.U32();
    l.enabled = r.Bool();
    l.created_at = r.I64();
    l.created_by = r.U32();
    l.created_position = r.U64();
    l.updated_at = r.I64();
  }
  n = r.Count(2);
  uint32_t prev_label = 0;
  for (size_t i = 0; i < n && r.ok(); ++i) {
    uint32_t label = r.U32();
    if (label >= 1u << 30 || (i > 0 && label <= prev_label)) return false;
    prev_label = label;
    size_t m = r.Count(3);
    for (size_t j = 0; j < m && r.ok(); ++j) {
      PartnerEvent e;
      e.position = r.U64();
      e.at = r.I64();
      e.actor = r.U32();
      partner_history_.Add(label, e);
    }
  }
  n = r.Count(2);
  uint32_t prev_user = 0;
  for (size_t i = 0; i < n && r.ok(); ++i) {
    uint32_t user = r.U32();
    if (user >= 1u << 30 || (i > 0 && user <= prev_user)) return false;
    prev_user = user;
    if (!LoadNotes(r, user, user_notes_)) return false;
  }
  return r.ok();
}

}  // namespace roster::projections
