#include "commands/account_state.h"

#include <algorithm>
#include <type_traits>

#include "base/crypto.h"
#include "policy/policy.h"

namespace roster::commands {
namespace {

using events::RecordedEvent;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

Workspace* MutableWorkspace(AccountState& s, const std::string& id) {
  auto it = s.workspaces.find(id);
  return it == s.workspaces.end() ? nullptr : &it->second;
}

WorkspaceMember* MutableMember(AccountState& s, const std::string& ws, const std::string& user) {
  Workspace* w = MutableWorkspace(s, ws);
  if (w == nullptr) return nullptr;
  auto it = w->members.find(user);
  return it == w->members.end() ? nullptr : &it->second;
}

Invitation* MutableInvitation(AccountState& s, const std::string& id) {
  auto it = s.invitations.find(id);
  return it == s.invitations.end() ? nullptr : &it->second;
}

Partner* MutablePartner(AccountState& s, const std::string& id) {
  auto it = s.partners.find(id);
  return it == s.partners.end() ? nullptr : &it->second;
}

void DropPending(AccountState& s, const Invitation& inv) {
  auto it = s.pending_by_email.find(PendingKey(inv.workspace_id, inv.email_key));
  if (it == s.pending_by_email.end()) return;
  std::erase(it->second, inv.invitation_id);
  if (it->second.empty()) s.pending_by_email.erase(it);
}

// Erases `index[key]` when it still points at `value`.
void EraseIfMapsTo(std::unordered_map<std::string, std::string>& index, const std::string& key,
                   const std::string& value) {
  auto it = index.find(key);
  if (it != index.end() && it->second == value) index.erase(it);
}

void SetLinkToken(AccountState& s, Workspace& w, const events::Bytes& hash) {
  if (w.link) EraseIfMapsTo(s.link_by_token, w.link->token_hash.data, w.workspace_id);
  s.link_by_token[hash.data] = w.workspace_id;
}

// ---- canonical rendering for StateDigest ----
class Canon {
 public:
  void Str(std::string_view s) {
    Num(s.size());
    out_.append(s);
  }
  void Num(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void Bool(bool b) { out_.push_back(b ? '\1' : '\0'); }
  void List(const std::vector<std::string>& l) {
    Num(l.size());
    for (const auto& s : l) Str(s);
  }
  void Map(const std::map<std::string, std::string>& m) {
    Num(m.size());
    for (const auto& [k, v] : m) Str(k), Str(v);
  }
  void Scope(const events::Scope& s) { List(s.markets), List(s.sets), List(s.groups); }
  const std::string& bytes() const { return out_; }

 private:
  std::string out_;
};

}  // namespace

std::string AccountStream(std::string_view account_id) {
  std::string s = "account-";
  s.append(account_id);
  return s;
}

std::string_view InvitationStatusName(InvitationStatus status) {
  switch (status) {
    case InvitationStatus::kPending: return "pending";
    case InvitationStatus::kAccepted: return "accepted";
    case InvitationStatus::kCancelled: return "cancelled";
    case InvitationStatus::kSuperseded: return "superseded";
  }
  return "pending";
}

std::string_view PartnerStatusName(PartnerStatus status) {
  switch (status) {
    case PartnerStatus::kInvited: return "invited";
    case PartnerStatus::kActive: return "active";
    case PartnerStatus::kSuspended: return "suspended";
    case PartnerStatus::kRevoked: return "revoked";
  }
  return "invited";
}

std::string PendingKey(std::string_view workspace_id, const events::Bytes& email_key) {
  std::string key(workspace_id);
  key += '/';
  key += email_key.data;
  return key;
}

const std::vector<std::string>& AccountState::PendingInvitations(
    std::string_view workspace_id, const events::Bytes& email_key) const {
  static const std::vector<std::string> kNone;
  auto it = pending_by_email.find(PendingKey(workspace_id, email_key));
  return it == pending_by_email.end() ? kNone : it->second;
}

const Invitation* AccountState::FindInvitationByToken(const events::Bytes& token_hash) const {
  auto it = invitation_by_token.find(token_hash.data);
  if (it == invitation_by_token.end()) return nullptr;
  auto inv = invitations.find(it->second);
  if (inv == invitations.end()) return nullptr;
  if (!ConstantTimeEqual(inv->second.token_hash.data, token_hash.data)) return nullptr;
  return &inv->second;
}

const Workspace* AccountState::FindWorkspaceByLinkToken(const events::Bytes& token_hash) const {
  auto it = link_by_token.find(token_hash.data);
  if (it == link_by_token.end()) return nullptr;
  const Workspace* w = FindWorkspace(it->second);
  if (w == nullptr || !w->link) return nullptr;
  if (!ConstantTimeEqual(w->link->token_hash.data, token_hash.data)) return nullptr;
  return w;
}

const Workspace* AccountState::FindWorkspace(std::string_view workspace_id) const {
  auto it = workspaces.find(std::string(workspace_id));
  return it == workspaces.end() ? nullptr : &it->second;
}

const AccountMember* AccountState::FindAccountMember(std::string_view user_id) const {
  auto it = members.find(std::string(user_id));
  return it == members.end() ? nullptr : &it->second;
}

void Evolve(AccountState& s, const RecordedEvent& recorded) {
  const events::Envelope& env = recorded.envelope;
  s.version = env.version;
  s.last_position = env.position;
  std::visit(
      Overloaded{
          [&](const events::AccountOpened& e) {
            s.exists = true;
            s.account_id = e.account_id;
            s.name = e.name;
            s.plan = e.plan;
            s.region = e.region;
            // The owner is the account's first member (no separate AccountMemberAdded).
            s.members[e.owner_user_id] = AccountMember{e.owner_user_id, e.owner_email_key,
                                                       e.owner_subject, "owner", env.position,
                                                       env.recorded_at};
            s.members_by_email[e.owner_email_key.data] = e.owner_user_id;
          },
          [&](const events::AccountMemberAdded& e) {
            s.members[e.user_id] = AccountMember{e.user_id, e.email_key, e.subject, e.role,
                                                 env.position, env.recorded_at};
            s.members_by_email[e.email_key.data] = e.user_id;
          },
          [&](const events::AccountMemberRoleChanged& e) {
            auto it = s.members.find(e.user_id);
            if (it != s.members.end()) it->second.role = e.to_role;
          },
          [&](const events::AccountMemberRemoved& e) {
            auto it = s.members.find(e.user_id);
            if (it == s.members.end()) return;
            EraseIfMapsTo(s.members_by_email, it->second.email_key.data, e.user_id);
            s.members.erase(it);
          },
          [&](const events::WorkspaceCreated& e) {
            Workspace& w = s.workspaces[e.workspace_id];
            w.workspace_id = e.workspace_id;
            w.name = e.name;
            w.template_name = e.template_name;
            w.invite_ttl_seconds = e.invite_ttl_seconds;
            w.created_at = env.recorded_at;
            w.created_position = env.position;
          },
          [&](const events::RoleDefined& e) {
            if (Workspace* w = MutableWorkspace(s, e.workspace_id)) {
              w->custom_roles[e.role] = e.permissions;
            }
          },
          [&](const events::RoleChanged& e) {
            if (auto* m = MutableMember(s, e.workspace_id, e.user_id)) m->role = e.to_role;
          },
          [&](const events::AccessChanged& e) {
            if (auto* m = MutableMember(s, e.workspace_id, e.user_id)) m->access = e.access;
          },
          [&](const events::ScopeChanged& e) {
            if (auto* m = MutableMember(s, e.workspace_id, e.user_id)) m->scope = e.scope;
          },
          [&](const events::MemberRemoved& e) {
            Workspace* w = MutableWorkspace(s, e.workspace_id);
            if (w == nullptr) return;
            auto it = w->members.find(e.user_id);
            if (it == w->members.end()) return;
            EraseIfMapsTo(w->members_by_email, it->second.email_key.data, e.user_id);
            w->members.erase(it);
          },
          [&](const events::InviteSent& e) {
            Invitation inv;
            inv.invitation_id = e.invitation_id;
            inv.workspace_id = e.workspace_id;
            inv.email_key = e.email_key;
            inv.subject = e.subject;
            inv.role = e.role;
            inv.access = e.access;
            inv.scope = e.scope;
            inv.token_hash = e.token_hash;
            inv.sent_at = env.recorded_at;
            inv.expires_at = e.expires_at;
            inv.invited_by = env.actor;
            if (Invitation* old = MutableInvitation(s, e.invitation_id)) {
              DropPending(s, *old);  // an id is never reused; stay total anyway
            }
            s.pending_by_email[PendingKey(e.workspace_id, e.email_key)].push_back(e.invitation_id);
            s.invitation_by_token[e.token_hash.data] = e.invitation_id;
            s.invitations[e.invitation_id] = std::move(inv);
          },
          [&](const events::InviteResent& e) {
            if (Invitation* inv = MutableInvitation(s, e.invitation_id)) {
              EraseIfMapsTo(s.invitation_by_token, inv->token_hash.data, e.invitation_id);
              inv->token_hash = e.token_hash;
              inv->expires_at = e.expires_at;
              s.invitation_by_token[e.token_hash.data] = e.invitation_id;
            }
          },
          [&](const events::InviteCancelled& e) {
            if (Invitation* inv = MutableInvitation(s, e.invitation_id)) {
              DropPending(s, *inv);
              inv->status = InvitationStatus::kCancelled;
            }
          },
          [&](const events::InviteAccepted& e) {
            if (Invitation* inv = MutableInvitation(s, e.invitation_id)) {
              DropPending(s, *inv);
              inv->status = InvitationStatus::kAccepted;
            }
            if (Workspace* w = MutableWorkspace(s, e.workspace_id)) {
              w->members[e.user_id] =
                  WorkspaceMember{e.user_id, e.email_key, e.subject,    e.role,
                                  e.access,  e.scope,     "invite",     env.position,
                                  env.recorded_at};
              w->members_by_email[e.email_key.data] = e.user_id;
            }
          },
          [&](const events::InviteSuperseded& e) {
            if (Invitation* inv = MutableInvitation(s, e.invitation_id)) {
              DropPending(s, *inv);
              inv->status = InvitationStatus::kSuperseded;
              inv->superseded_by = e.superseded_by;
            }
          },
          [&](const events::LinkCreated& e) {
            if (Workspace* w = MutableWorkspace(s, e.workspace_id)) {
              SetLinkToken(s, *w, e.token_hash);
              w->link = InviteLink{e.role, e.token_hash, true, env.recorded_at, env.actor};
            }
          },
          [&](const events::LinkRoleChanged& e) {
            if (Workspace* w = MutableWorkspace(s, e.workspace_id); w && w->link) {
              w->link->role = e.to_role;
            }
          },
          [&](const events::LinkRegenerated& e) {
            if (Workspace* w = MutableWorkspace(s, e.workspace_id); w && w->link) {
              SetLinkToken(s, *w, e.token_hash);
              w->link->token_hash = e.token_hash;
            }
          },
          [&](const events::LinkDisabled& e) {
            if (Workspace* w = MutableWorkspace(s, e.workspace_id); w && w->link) {
              w->link->enabled = false;
            }
          },
          [&](const events::LinkJoined& e) {
            if (Workspace* w = MutableWorkspace(s, e.workspace_id)) {
              w->members[e.user_id] = WorkspaceMember{
                  e.user_id, e.email_key, e.subject, e.role, {}, {}, "link", env.position,
                  env.recorded_at};
              w->members_by_email[e.email_key.data] = e.user_id;
            }
          },
          [&](const events::PartnerInvited& e) {
            s.partners[e.partner_id] = Partner{e.partner_id,   e.workspace_id,
                                               e.partner_account_id, e.access_level,
                                               e.sets,         PartnerStatus::kInvited};
          },
          [&](const events::PartnerAccepted& e) {
            if (Partner* p = MutablePartner(s, e.partner_id)) p->status = PartnerStatus::kActive;
          },
          [&](const events::PartnerAccessChanged& e) {
            if (Partner* p = MutablePartner(s, e.partner_id)) p->access_level = e.to_level;
          },
          [&](const events::PartnerSetsAssigned& e) {
            if (Partner* p = MutablePartner(s, e.partner_id)) {
              for (const auto& set : e.sets) {
                if (std::find(p->sets.begin(), p->sets.end(), set) == p->sets.end()) {
                  p->sets.push_back(set);
                }
              }
            }
          },
          [&](const events::PartnerSetsRevoked& e) {
            if (Partner* p = MutablePartner(s, e.partner_id)) {
              std::erase_if(p->sets, [&](const std::string& set) {
                return std::find(e.sets.begin(), e.sets.end(), set) != e.sets.end();
              });
            }
          },
          [&](const events::PartnerSuspended& e) {
            if (Partner* p = MutablePartner(s, e.partner_id)) {
              p->status = PartnerStatus::kSuspended;
            }
          },
          [&](const events::PartnerResumed& e) {
            if (Partner* p = MutablePartner(s, e.partner_id)) p->status = PartnerStatus::kActive;
          },
          [&](const events::PartnerRevoked& e) {
            if (Partner* p = MutablePartner(s, e.partner_id)) p->status = PartnerStatus::kRevoked;
          },
          [&](const events::SharedAccessGranted& e) {
            s.shares[e.grantee_user_id] =
                ShareGrant{e.grantee_user_id, e.grantee_account_id, e.all_containers,
                           e.containers,      e.billing,            env.position};
          },
          [&](const events::SharedAccessRemoved& e) { s.shares.erase(e.grantee_user_id); },
          [&](const events::SharedAccessRetired& e) { s.shares.erase(e.grantee_user_id); },
          [&](const events::SubjectErased&) {},  // lives in the "privacy" stream
      },
      recorded.event);
}

const std::vector<std::string>* WorkspaceRolePatterns(const Workspace& ws, std::string_view role) {
  auto it = ws.custom_roles.find(std::string(role));
  if (it != ws.custom_roles.end()) return &it->second;
  const policy::Template* tmpl = policy::FindTemplate(ws.template_name);
  if (tmpl == nullptr) return nullptr;
  for (const auto& [name, patterns] : tmpl->roles) {
    if (name == role) return &patterns;
  }
  return nullptr;
}

bool HoldsAtAccountLevel(const AccountState& state, std::string_view user_id,
                         std::string_view permission) {
  const AccountMember* m = state.FindAccountMember(user_id);
  if (m == nullptr) return false;
  policy::Grant grant{policy::AccountRole(m->role), nullptr, nullptr};
  return policy::GrantAllowsPermission(grant, permission);
}

bool HoldsInWorkspace(const AccountState& state, const Workspace& ws, std::string_view user_id,
                      std::string_view permission) {
  if (HoldsAtAccountLevel(state, user_id, permission)) return true;
  auto it = ws.members.find(std::string(user_id));
  if (it == ws.members.end()) return false;
  const WorkspaceMember& m = it->second;
  policy::Grant grant{WorkspaceRolePatterns(ws, m.role), &m.access, nullptr};
  return policy::GrantAllowsPermission(grant, permission);
}

std::string StateDigest(const AccountState& s) {
  Canon c;
  c.Bool(s.exists);
  c.Str(s.account_id), c.Str(s.name), c.Str(s.plan), c.Str(s.region);
  c.Num(s.version), c.Num(s.last_position);
  c.Num(s.members.size());
  for (const auto& [id, m] : s.members) {
    c.Str(m.user_id), c.Str(m.email_key.data), c.Str(m.subject), c.Str(m.role);
    c.Num(m.joined_position), c.Num(static_cast<uint64_t>(m.joined_at));
  }
  c.Num(s.workspaces.size());
  for (const auto& [id, w] : s.workspaces) {
    c.Str(w.workspace_id), c.Str(w.name), c.Str(w.template_name);
    c.Num(static_cast<uint64_t>(w.invite_ttl_seconds));
    c.Num(static_cast<uint64_t>(w.created_at)), c.Num(w.created_position);
    c.Num(w.custom_roles.size());
    for (const auto& [role, patterns] : w.custom_roles) c.Str(role), c.List(patterns);
    c.Num(w.members.size());
    for (const auto& [uid, m] : w.members) {
      c.Str(m.user_id), c.Str(m.email_key.data), c.Str(m.subject), c.Str(m.role);
      c.Map(m.access), c.Scope(m.scope), c.Str(m.source);
      c.Num(m.joined_position), c.Num(static_cast<uint64_t>(m.joined_at));
    }
    c.Bool(w.link.has_value());
    if (w.link) {
      c.Str(w.link->role), c.Str(w.link->token_hash.data), c.Bool(w.link->enabled);
      c.Num(static_cast<uint64_t>(w.link->created_at)), c.Str(w.link->created_by);
    }
  }
  c.Num(s.invitations.size());
  std::vector<const Invitation*> invitations;
  invitations.reserve(s.invitations.size());
  for (const auto& [id, i] : s.invitations) invitations.push_back(&i);
  std::sort(invitations.begin(), invitations.end(),
            [](const Invitation* a, const Invitation* b) { return a->invitation_id < b->invitation_id; });
  for (const Invitation* inv : invitations) {
    const Invitation& i = *inv;
    c.Str(i.invitation_id), c.Str(i.workspace_id), c.Str(i.email_key.data), c.Str(i.subject);
    c.Str(i.role), c.Map(i.access), c.Scope(i.scope), c.Str(i.token_hash.data);
    c.Num(static_cast<uint64_t>(i.sent_at)), c.Num(static_cast<uint64_t>(i.expires_at));
    c.Str(i.invited_by), c.Num(static_cast<uint64_t>(i.status)), c.Str(i.superseded_by);
  }
  c.Num(s.partners.size());
  for (const auto& [id, p] : s.partners) {
    c.Str(p.partner_id), c.Str(p.workspace_id), c.Str(p.partner_account_id);
    c.Str(p.access_level), c.List(p.sets), c.Num(static_cast<uint64_t>(p.status));
  }
  c.Num(s.shares.size());
  for (const auto& [id, g] : s.shares) {
    c.Str(g.grantee_user_id), c.Str(g.grantee_account_id), c.Bool(g.all_containers);
    c.List(g.containers), c.Bool(g.billing), c.Num(g.granted_position);
  }
  return ToHex(Sha256(c.bytes()));
}

}  // namespace roster::commands
