#include "projections/queries.h"

#include <algorithm>

#include "events/json.h"
#include "projections/fields.h"

namespace roster::projections {
namespace {

Status NotFound(std::string_view field, std::string_view what, std::string_view id) {
  return Status(ErrorCode::kNotFound, std::string(field) + ": unknown " + std::string(what) +
                                          " \"" + std::string(id.substr(0, 128)) + "\"");
}

std::string Join(const std::vector<std::string>& list, std::string_view sep = ", ") {
  std::string out;
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += sep;
    out += list[i];
  }
  return out;
}

std::string_view InviteStateName(InviteState s) {
  switch (s) {
    case InviteState::kPending: return "pending";
    case InviteState::kAccepted: return "accepted";
    case InviteState::kCancelled: return "cancelled";
    case InviteState::kSuperseded: return "superseded";
  }
  return "unknown";
}

bool StatusMatches(InviteStatusFilter f, std::string_view status) {
  switch (f) {
    case InviteStatusFilter::kAll: return true;
    case InviteStatusFilter::kPending: return status == "pending";
    case InviteStatusFilter::kExpired: return status == "expired";
    case InviteStatusFilter::kAccepted: return status == "accepted";
    case InviteStatusFilter::kCancelled: return status == "cancelled";
    case InviteStatusFilter::kSuperseded: return status == "superseded";
  }
  return false;
}

Result<uint64_t> CursorStart(const PageRequest& page) {
  if (page.cursor.empty()) return uint64_t{0};
  uint64_t p = 0;
  if (!DecodeCursor(page.cursor, &p)) {
    return Status(ErrorCode::kInvalidField, "cursor: not a cursor this server issued");
  }
  return p;
}

std::string ByOf(const Catalog& c, uint32_t label) {
  return std::string(Catalog::ActorUser(c.labels.Name(label)));
}

}  // namespace

size_t ClampLimit(size_t limit) {
  if (limit == 0) return kDefaultLimit;
  return std::min(limit, kMaxLimit);
}

std::string EncodeCursor(uint64_t position) {
  return Base64UrlEncode("p" + std::to_string(position));
}

bool DecodeCursor(std::string_view cursor, uint64_t* position) {
  std::string raw;
  if (cursor.size() > 32 || !Base64UrlDecode(cursor, &raw)) return false;
  if (raw.size() < 2 || raw.size() > 21 || raw[0] != 'p') return false;
  uint64_t v = 0;
  for (size_t i = 1; i < raw.size(); ++i) {
    if (raw[i] < '0' || raw[i] > '9') return false;
    uint64_t d = static_cast<uint64_t>(raw[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *position = v;
  return true;
}

bool ParseInviteStatus(std::string_view text, InviteStatusFilter* out) {
  static constexpr std::pair<std::string_view, InviteStatusFilter> kNames[] = {
      {"pending", InviteStatusFilter::kPending},   {"expired", InviteStatusFilter::kExpired},
      {"accepted", InviteStatusFilter::kAccepted}, {"cancelled", InviteStatusFilter::kCancelled},
      {"superseded", InviteStatusFilter::kSuperseded}, {"all", InviteStatusFilter::kAll}};
  for (const auto& [name, value] : kNames) {
    if (text == name) {
      *out = value;
      return true;
    }
  }
  return false;
}

// ---- Resolution ----

Email Queries::ResolveSubject(std::string_view subject) const {
  Email e;
  if (subject.empty()) return e;
  e.email = vault_.Lookup(subject);
  e.erased = !e.email.has_value();
  return e;
}

Email Queries::UserEmail(uint32_t user) const {
  const UserInfo* u = s_.catalog.user(user);
  return u ? ResolveSubject(u->subject) : Email{};
}

std::string Queries::DisplayUser(std::string_view user_id, std::string_view subject) const {
  if (subject.empty()) {
    if (const UserInfo* u = s_.catalog.user(s_.catalog.users.Find(user_id))) subject = u->subject;
  }
  if (subject.empty()) return std::string(user_id);
  auto email = vault_.Lookup(subject);
  return email ? *email : std::string("[erased]");
}

std::string Queries::DisplayActor(std::string_view actor) const {
  constexpr std::string_view kUser = "user:";
  if (actor.substr(0, kUser.size()) == kUser) return DisplayUser(actor.substr(kUser.size()), {});
  return std::string(actor);
}

// ---- Access ----

Decision Queries::Check(std::string_view principal, std::string_view permission,
                        std::string_view workspace, const Where& where, uint64_t p) const {
  uint32_t user = s_.catalog.users.Find(principal);
  uint32_t ws = s_.catalog.workspaces.Find(workspace);
  if (p >= s_.position()) return s_.access.Check(s_.catalog, user, ws, permission, where);
  return s_.access.CheckAt(s_.catalog, user, ws, permission, where, p);
}

Decision Queries::CheckAccount(std::string_view principal, std::string_view permission,
                               std::string_view account, std::string_view resource,
                               uint64_t p) const {
  uint32_t user = s_.catalog.users.Find(principal);
  uint32_t acct = s_.catalog.accounts.Find(account);
  if (p >= s_.position()) {
    return s_.access.CheckAccount(s_.catalog, user, acct, permission, resource);
  }
  return s_.access.CheckAccountAt(s_.catalog, user, acct, permission, resource, p);
}

Result<WhoHasResult> Queries::WhoHas(std::string_view workspace, std::string_view permission,
                                     const Where& where, uint64_t p) const {
  uint32_t ws = s_.catalog.workspaces.Find(workspace);
  const WorkspaceInfo* w = s_.catalog.workspace(ws);
  if (w == nullptr || !w->created) return NotFound("workspace_id", "workspace", workspace);
  return s_.access.WhoHas(s_.catalog, ws, permission, where, p);
}

UserAccessResult Queries::UserAccess(std::string_view user, uint64_t p) const {
  return s_.access.UserAccess(s_.catalog, s_.catalog.users.Find(user), p);
}

Result<AccessHistoryResult> Queries::AccessHistory(std::string_view workspace,
                                                   std::string_view user, uint64_t p) const {
  uint32_t ws = s_.catalog.workspaces.Find(workspace);
  const WorkspaceInfo* w = s_.catalog.workspace(ws);
  if (w == nullptr || !w->created) return NotFound("workspace_id", "workspace", workspace);
  return s_.access.History(s_.catalog, ws, s_.catalog.users.Find(user), p);
}

Result<AccessReviewResult> Queries::AccessReview(std::string_view workspace, uint64_t from,
                                                 uint64_t to) const {
  uint32_t ws = s_.catalog.workspaces.Find(workspace);
  const WorkspaceInfo* w = s_.catalog.workspace(ws);
  if (w == nullptr || !w->created) return NotFound("workspace_id", "workspace", workspace);
  auto before = s_.access.Everyone(s_.catalog, ws, from);
  auto after = s_.access.Everyone(s_.catalog, ws, to);
  AccessReviewResult out;
  out.from_position = from;
  out.to_position = to;
  out.position = s_.position();
  for (const auto& [user, e] : after) {
    auto it = before.find(user);
    if (it == before.end()) {
      out.gained.push_back(e);
    } else if (it->second.role != e.role) {
      out.changed.push_back(RoleChange{user, it->second.role, e.role});
    }
  }
  for (const auto& [user, e] : before) {
    if (after.find(user) == after.end()) out.lost.push_back(e);
  }
  return out;
}

// ---- Team views ----

Result<MembersResult> Queries::Members(std::string_view workspace, const PageRequest& page) const {
  const Catalog& c = s_.catalog;
  uint32_t ws = c.workspaces.Find(workspace);
  const WorkspaceInfo* w = c.workspace(ws);
  if (w == nullptr || !w->created) return NotFound("workspace_id", "workspace", workspace);
  auto start = CursorStart(page);
  if (!start) return start.error();

  // Rows are keyed by joined_position (unique: each comes from its own event).
  struct Row {
    uint64_t joined;
    uint32_t user;
    bool account;
  };
  std::vector<Row> rows;
  if (w->account != kNone) {
    for (uint32_t user : s_.access.AccountUsers(w->account)) {
      const AccountMember* m = s_.access.FindAccountMember(w->account, user);
      if (m->live && m->joined_position >= *start) rows.push_back({m->joined_position, user, true});
    }
  }
  for (uint32_t user : s_.access.WorkspaceUsers(ws)) {
    const WorkspaceMember* m = s_.access.FindWorkspaceMember(ws, user);
    if (m->live && m->joined_position >= *start) rows.push_back({m->joined_position, user, false});
  }
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return std::tie(a.joined, a.account) < std::tie(b.joined, b.account);
  });
  MembersResult out;
  out.position = s_.position();
  size_t limit = ClampLimit(page.limit);
  for (const Row& row : rows) {
    if (out.members.size() == limit) {
      out.next_cursor = EncodeCursor(row.joined);
      break;
    }
    MemberView v;
    v.user_id = c.users.Name(row.user);
    v.email = UserEmail(row.user);
    if (row.account) {
      const AccountMember* m = s_.access.FindAccountMember(w->account, row.user);
      v.role = c.labels.Name(m->spans.back().role);
      v.source = "account";
      v.joined_at = m->joined_at;
      v.joined_position = m->joined_position;
      if (!v.email.email && !v.email.erased) v.email = ResolveSubject(m->subject);
    } else {
      const WorkspaceMember* m = s_.access.FindWorkspaceMember(ws, row.user);
      const MemberSpan& span = m->spans.back();
      v.role = c.labels.Name(span.role);
      if (span.extras) {
        v.access = span.extras->access;
        v.scope = span.extras->scope;
      }
      v.source = m->source == MemberSource::kLink ? "link" : "invite";
      v.joined_at = m->joined_at;
      v.joined_position = m->joined_position;
      if (!v.email.email && !v.email.erased) v.email = ResolveSubject(m->subject);
    }
    out.members.push_back(std::move(v));
  }
  return out;
}

namespace {

// "pending", "accepted", ... or "expired": a pending invitation whose expiry has passed.
std::string_view InvitationStatus(const projections::Invitation& inv, Micros now) {
  if (inv.state == InviteState::kPending && now >= inv.expires_at) return "expired";
  return InviteStateName(inv.state);
}

InvitationView RenderInvitation(const Catalog& c, const projections::Invitation& inv, Micros now,
                                Email email) {
  InvitationView v;
  v.invitation_id = c.labels.Name(inv.id);
  v.workspace_id = c.workspaces.Name(inv.workspace);
  v.email = std::move(email);
  v.role = c.labels.Name(inv.role);
  if (inv.extras) {
    v.access = inv.extras->access;
    v.scope = inv.extras->scope;
  }
  v.status = InvitationStatus(inv, now);
  v.invited_by = ByOf(c, inv.invited_by);
  v.sent_at = inv.sent_at;
  v.first_sent_at = inv.first_sent_at;
  v.expires_at = inv.expires_at;
  v.sent_position = inv.sent_position;
  return v;
}

}  // namespace

Result<InvitationsResult> Queries::Invitations(std::string_view workspace,
                                               InviteStatusFilter status, Micros now,
                                               const PageRequest& page) const {
  const Catalog& c = s_.catalog;
  uint32_t ws = c.workspaces.Find(workspace);
  const WorkspaceInfo* w = c.workspace(ws);
  if (w == nullptr || !w->created) return NotFound("workspace_id", "workspace", workspace);
  auto start = CursorStart(page);
  if (!start) return start.error();
  InvitationsResult out;
  out.position = s_.position();
  size_t limit = ClampLimit(page.limit);
  // The workspace's list is in sent order, which is position order (an invitation is
  // added at its InviteSent), so a page starts with a binary search, not a scan.
  const std::vector<uint32_t>& list = s_.team.WorkspaceInvitations(ws);
  auto first = std::partition_point(list.begin(), list.end(), [&](uint32_t index) {
    return s_.team.invitation_at(index).sent_position < *start;
  });
  for (auto it = first; it != list.end(); ++it) {
    const projections::Invitation& inv = s_.team.invitation_at(*it);
    if (!StatusMatches(status, InvitationStatus(inv, now))) continue;
    if (out.invitations.size() == limit) {
      out.next_cursor = EncodeCursor(inv.sent_position);
      break;
    }
    out.invitations.push_back(RenderInvitation(c, inv, now, ResolveSubject(inv.subject)));
  }
  return out;
}

Result<InvitationView> Queries::Invitation(std::string_view invitation_id, Micros now) const {
  const projections::Invitation* inv = s_.team.FindInvitation(s_.catalog.labels.Find(invitation_id));
  if (inv == nullptr) return NotFound("invitation_id", "invitation", invitation_id);
  return RenderInvitation(s_.catalog, *inv, now, ResolveSubject(inv->subject));
}

Result<LinkView> Queries::InviteLink(std::string_view workspace) const {
  const Catalog& c = s_.catalog;
  uint32_t ws = c.workspaces.Find(workspace);
  const projections::InviteLink* l = s_.team.FindLink(ws);
  if (l == nullptr) return Status(ErrorCode::kNotFound, "workspace_id: no invite link");
  LinkView v;
  v.workspace_id = c.workspaces.Name(ws);
  v.role = c.labels.Name(l->role);
  v.enabled = l->enabled;
  v.created_at = l->created_at;
  v.created_by = ByOf(c, l->created_by);
  v.created_position = l->created_position;
  v.updated_at = l->updated_at;
  v.position = s_.position();
  return v;
}

Result<PartnerView> Queries::RenderPartner(const projections::Partner& pr) const {
  const Catalog& c = s_.catalog;
  PartnerView v;
  v.partner_id = c.labels.Name(pr.id);
  v.workspace_id = c.workspaces.Name(pr.workspace);
  v.partner_account_id = c.accounts.Name(pr.partner_account);
  v.status = PartnerStatusName(pr.status);
  v.access_level = c.labels.Name(pr.level);
  v.sets = pr.sets;
  v.position = s_.position();
  for (const PartnerEvent* e : s_.team.PartnerHistory(pr.id)) {
    auto read = store_.Read(e->position);  // the event itself, as audit entries do
    if (!read.ok()) return read.error();
    PartnerHistoryItem item;
    item.position = e->position;
    item.type = events::TypeName(read->event);
    item.at = e->at;
    item.actor = c.labels.Name(e->actor);
    item.fields = events::EventToJson(read->event);
    item.fields.erase("workspace_id");
    item.fields.erase("partner_id");
    v.history.push_back(std::move(item));
  }
  return v;
}

Result<PartnersResult> Queries::Partners(std::string_view workspace) const {
  uint32_t ws = s_.catalog.workspaces.Find(workspace);
  const WorkspaceInfo* w = s_.catalog.workspace(ws);
  if (w == nullptr || !w->created) return NotFound("workspace_id", "workspace", workspace);
  PartnersResult out;
  out.position = s_.position();
  for (uint32_t index : s_.access.WorkspacePartners(ws)) {
    auto v = RenderPartner(s_.access.partner_at(index));
    if (!v.ok()) return v.error();
    out.partners.push_back(std::move(v).value());
  }
  return out;
}

Result<PartnerView> Queries::Partner(std::string_view partner_id) const {
  const projections::Partner* pr = s_.access.FindPartner(s_.catalog.labels.Find(partner_id));
  if (pr == nullptr) return NotFound("partner_id", "partner", partner_id);
  return RenderPartner(*pr);
}

namespace {

ShareView RenderShare(const Catalog& c, uint32_t account, uint32_t user, const Share& s) {
  ShareView v;
  v.account_id = c.accounts.Name(account);
  v.grantee_user_id = c.users.Name(user);
  v.grantee_account_id = c.accounts.Name(s.grantee_account);
  v.all_containers = s.all_containers;
  v.containers = s.containers;
  v.billing = s.billing;
  const ShareSpan& span = s.spans.back();
  v.granted_position = span.from_position;
  v.granted_at = span.from_time;
  v.granted_by = ByOf(c, span.granted_by);
  return v;
}

}  // namespace

Result<SharesResult> Queries::SharesGiven(std::string_view account) const {
  const Catalog& c = s_.catalog;
  uint32_t acct = c.accounts.Find(account);
  const AccountInfo* a = c.account(acct);
  if (a == nullptr || !a->opened) return NotFound("account_id", "account", account);
  SharesResult out;
  out.position = s_.position();
  for (uint32_t user : s_.access.ShareGrantees(acct)) {
    const Share* s = s_.access.FindShare(acct, user);
    if (s->live) out.shares.push_back(RenderShare(c, acct, user, *s));
  }
  std::sort(out.shares.begin(), out.shares.end(), [](const ShareView& x, const ShareView& y) {
    return x.grantee_user_id < y.grantee_user_id;
  });
  return out;
}

SharesResult Queries::SharesReceived(std::string_view user_id) const {
  const Catalog& c = s_.catalog;
  SharesResult out;
  out.position = s_.position();
  uint32_t user = c.users.Find(user_id);
  if (user == kNone) return out;
  for (uint32_t acct : s_.access.ShareAccountsOf(user)) {
    const Share* s = s_.access.FindShare(acct, user);
    if (s->live) out.shares.push_back(RenderShare(c, acct, user, *s));
  }
  std::sort(out.shares.begin(), out.shares.end(),
            [](const ShareView& x, const ShareView& y) { return x.account_id < y.account_id; });
  return out;
}

Result<AccountView> Queries::Account(std::string_view account) const {
  const Catalog& c = s_.catalog;
  uint32_t acct = c.accounts.Find(account);
  const AccountInfo* a = c.account(acct);
  if (a == nullptr || !a->opened) return NotFound("account_id", "account", account);
  AccountView v;
  v.account_id = c.accounts.Name(acct);
  v.name = a->name;
  v.plan = a->plan;
  v.region = a->region;
  v.position = s_.position();
  for (uint32_t user : s_.access.AccountUsers(acct)) {
    const AccountMember* m = s_.access.FindAccountMember(acct, user);
    if (!m->live) continue;
    AccountMemberView mv;
    mv.user_id = c.users.Name(user);
    mv.email = UserEmail(user);
    if (!mv.email.email && !mv.email.erased) mv.email = ResolveSubject(m->subject);
    mv.role = c.labels.Name(m->spans.back().role);
    mv.joined_at = m->joined_at;
    mv.joined_position = m->joined_position;
    v.members.push_back(std::move(mv));
  }
  std::sort(v.members.begin(), v.members.end(),
            [](const AccountMemberView& x, const AccountMemberView& y) {
              return x.joined_position < y.joined_position;
            });
  for (uint32_t ws : a->workspaces) {
    const WorkspaceInfo* w = c.workspace(ws);
    v.workspaces.push_back(WorkspaceSummary{c.workspaces.Name(ws), w->name, w->template_name});
  }
  return v;
}

Result<WorkspaceView> Queries::Workspace(std::string_view workspace) const {
  const Catalog& c = s_.catalog;
  uint32_t ws = c.workspaces.Find(workspace);
  const WorkspaceInfo* w = c.workspace(ws);
  if (w == nullptr || !w->created) return NotFound("workspace_id", "workspace", workspace);
  WorkspaceView v;
  v.workspace_id = c.workspaces.Name(ws);
  v.account_id = c.accounts.Name(w->account);
  v.name = w->name;
  v.template_name = w->template_name;
  v.invite_ttl_seconds = w->invite_ttl_seconds;
  v.position = s_.position();
  for (const auto& [name, slot] : w->roles) {
    if (const policy::Patterns* p = slot->live()) v.roles.emplace(name, *p);
  }
  return v;
}

Result<NotificationsResult> Queries::Notifications(std::string_view user_id,
                                                   const PageRequest& page) const {
  const Catalog& c = s_.catalog;
  auto start = CursorStart(page);
  if (!start) return start.error();
  uint64_t before = *start;  // exclusive; 0 = from the newest
  NotificationsResult out;
  out.position = s_.position();
  uint32_t user = c.users.Find(user_id);
  if (user == kNone) return out;
  std::vector<const Note*> notes;
  auto collect = [&](const std::vector<const Note*>& list) {
    for (const Note* n : list) {
      if (before == 0 || n->position < before) notes.push_back(n);
    }
  };
  collect(s_.team.UserNotes(user));
  for (const std::string& key : c.user(user)->email_keys) collect(s_.team.EmailNotes(key));
  std::sort(notes.begin(), notes.end(), [](const Note* a, const Note* b) {
    return std::tie(b->position, a->kind) < std::tie(a->position, b->kind);
  });
  size_t limit = ClampLimit(page.limit);
  for (size_t i = 0; i < notes.size(); ++i) {
    // A page never splits the notes of one position, so the cursor cannot skip any.
    if (out.notifications.size() >= limit && notes[i]->position != notes[i - 1]->position) {
      out.next_cursor = EncodeCursor(notes[i - 1]->position);
      break;
    }
    const Note& n = *notes[i];
    out.notifications.push_back(NotificationView{n.position, std::string(Team::NoteKindName(n.kind)),
                                                 Team::NoteText(n, c), n.at});
  }
  return out;
}

// ---- Audit ----

boost::json::object Queries::Data(const events::Event& event) const {
  boost::json::object data = events::EventToJson(event);
  auto replace = [&](std::string_view key_field, std::string_view subject_field,
                     std::string_view email_field, std::string_view erased_field) {
    if (!data.contains(key_field)) return;
    data.erase(key_field);
    std::string subject;
    if (auto* s = data.if_contains(subject_field); s && s->is_string()) {
      subject = std::string(s->as_string());
    }
    Email e = ResolveSubject(subject);
    if (e.email) {
      data[email_field] = *e.email;
    } else {
      data[email_field] = nullptr;
    }
    data[erased_field] = e.erased;
  };
  if (std::holds_alternative<events::SubjectErased>(event)) {
    data.erase("email_key");
    data["email"] = nullptr;
    data["email_erased"] = true;
    return data;
  }
  replace("email_key", "subject", "email", "email_erased");
  replace("owner_email_key", "owner_subject", "owner_email", "owner_email_erased");
  return data;
}

std::string Queries::Summarize(const events::RecordedEvent& r) const {
  const Catalog& c = s_.catalog;
  std::string who = DisplayActor(r.envelope.actor);
  auto ws_name = [&](const std::string& id) -> std::string {
    const WorkspaceInfo* w = c.workspace(c.workspaces.Find(id));
    return w && !w->name.empty() ? w->name : id;
  };
  auto account_name = [&](std::string_view id) -> std::string {
    const AccountInfo* a = c.account(c.accounts.Find(id));
    return a && !a->name.empty() ? a->name : std::string(id);
  };
  std::string stream_account;
  if (r.envelope.stream.rfind("account-", 0) == 0) stream_account = r.envelope.stream.substr(8);
  auto partner_name = [&](const std::string& partner_id) -> std::string {
    const projections::Partner* pr = s_.access.FindPartner(c.labels.Find(partner_id));
    return pr ? account_name(c.accounts.Name(pr->partner_account)) : partner_id;
  };
  auto invitee = [&](const std::string& invitation_id) -> std::string {
    const projections::Invitation* inv = s_.team.FindInvitation(c.labels.Find(invitation_id));
    if (inv == nullptr) return invitation_id;
    auto email = vault_.Lookup(inv->subject);
    return email ? *email : std::string("[erased]");
  };
  auto with_reason = [](std::string text, const std::string& reason) {
    if (!reason.empty()) text += ": " + reason;
    return text;
  };
  auto scope_text = [](const events::Scope& s) -> std::string {
    if (s.Unrestricted()) return "unrestricted";
    std::string out;
    auto dim = [&](std::string_view name, const std::vector<std::string>& list) {
      if (list.empty()) return;
      if (!out.empty()) out += "; ";
      out += std::string(name) + " " + Join(list);
    };
    dim("markets", s.markets);
    dim("sets", s.sets);
    dim("groups", s.groups);
    return out;
  };
  return std::visit(
      Overloaded{
          [&](const events::AccountOpened& e) {
            return who + " opened the account " + e.name + " (" + e.plan + ", " + e.region +
                   ") owned by " + DisplayUser(e.owner_user_id, e.owner_subject);
          },
          [&](const events::AccountMemberAdded& e) {
            return who + " added " + DisplayUser(e.user_id, e.subject) + " to the account " +
                   account_name(stream_account) + " as " + e.role;
          },
          [&](const events::AccountMemberRoleChanged& e) {
            return who + " changed the account role of " + DisplayUser(e.user_id, {}) + " in " +
                   account_name(stream_account) + " from " + e.from_role + " to " + e.to_role;
          },
          [&](const events::AccountMemberRemoved& e) {
            return who + " removed " + DisplayUser(e.user_id, {}) + " (" + e.role +
                   ") from the account " + account_name(stream_account);
          },
          [&](const events::WorkspaceCreated& e) {
            return who + " created the workspace " + e.name + " (" + e.template_name +
                   " template) in " + account_name(stream_account);
          },
          [&](const events::RoleDefined& e) {
            return who + " defined the role " + e.role + " in " + ws_name(e.workspace_id) + " as " +
                   (e.permissions.empty() ? std::string("no permissions") : Join(e.permissions));
          },
          [&](const events::RoleChanged& e) {
            return who + " changed the role of " + DisplayUser(e.user_id, {}) + " in " +
                   ws_name(e.workspace_id) + " from " + e.from_role + " to " + e.to_role;
          },
          [&](const events::AccessChanged& e) {
            std::string access;
            for (const auto& [m, l] : e.access) {
              if (!access.empty()) access += ", ";
              access += m + ": " + l;
            }
            return who + " changed the module access of " + DisplayUser(e.user_id, {}) + " in " +
                   ws_name(e.workspace_id) + " to " +
                   (access.empty() ? std::string("the role's defaults") : access);
          },
          [&](const events::ScopeChanged& e) {
            return who + " changed the scope of " + DisplayUser(e.user_id, {}) + " in " +
                   ws_name(e.workspace_id) + " to " + scope_text(e.scope);
          },
          [&](const events::MemberRemoved& e) {
            return who + " removed " + DisplayUser(e.user_id, {}) + " (" + e.role + ") from " +
                   ws_name(e.workspace_id);
          },
          [&](const events::InviteSent& e) {
            auto email = vault_.Lookup(e.subject);
            return who + " invited " + (email ? *email : std::string("[erased]")) + " as " +
                   e.role + " to " + ws_name(e.workspace_id);
          },
          [&](const events::InviteResent& e) {
            return who + " resent the invitation of " + invitee(e.invitation_id) + " to " +
                   ws_name(e.workspace_id);
          },
          [&](const events::InviteCancelled& e) {
            return who + " cancelled the invitation of " + invitee(e.invitation_id) + " to " +
                   ws_name(e.workspace_id);
          },
          [&](const events::InviteAccepted& e) {
            return DisplayUser(e.user_id, e.subject) + " accepted the invitation to " +
                   ws_name(e.workspace_id) + " as " + e.role;
          },
          [&](const events::InviteSuperseded& e) {
            return "The invitation of " + invitee(e.invitation_id) + " to " +
                   ws_name(e.workspace_id) + " was superseded by " + e.superseded_by;
          },
          [&](const events::LinkCreated& e) {
            return who + " created the invite link of " + ws_name(e.workspace_id) + " as " + e.role;
          },
          [&](const events::LinkRoleChanged& e) {
            return who + " changed the invite link role of " + ws_name(e.workspace_id) + " from " +
                   e.from_role + " to " + e.to_role;
          },
          [&](const events::LinkRegenerated& e) {
            return who + " regenerated the invite link of " + ws_name(e.workspace_id);
          },
          [&](const events::LinkDisabled& e) {
            return who + " disabled the invite link of " + ws_name(e.workspace_id);
          },
          [&](const events::LinkJoined& e) {
            return DisplayUser(e.user_id, e.subject) + " joined " + ws_name(e.workspace_id) +
                   " by invite link as " + e.role;
          },
          [&](const events::PartnerInvited& e) {
            return who + " invited the partner " + account_name(e.partner_account_id) + " to " +
                   ws_name(e.workspace_id) + " with " + e.access_level + " access to " +
                   (e.sets.empty() ? std::string("no sets") : "sets " + Join(e.sets));
          },
          [&](const events::PartnerAccepted& e) {
            return who + " accepted the partnership of " + partner_name(e.partner_id) + " with " +
                   ws_name(e.workspace_id);
          },
          [&](const events::PartnerAccessChanged& e) {
            return who + " changed the access level of the partner " + partner_name(e.partner_id) +
                   " in " + ws_name(e.workspace_id) + " from " + e.from_level + " to " + e.to_level;
          },
          [&](const events::PartnerSetsAssigned& e) {
            return who + " assigned sets " + Join(e.sets) + " to the partner " +
                   partner_name(e.partner_id) + " in " + ws_name(e.workspace_id);
          },
          [&](const events::PartnerSetsRevoked& e) {
            return who + " revoked sets " + Join(e.sets) + " from the partner " +
                   partner_name(e.partner_id) + " in " + ws_name(e.workspace_id);
          },
          [&](const events::PartnerSuspended& e) {
            return with_reason(who + " suspended the partner " + partner_name(e.partner_id) +
                                   " in " + ws_name(e.workspace_id),
                               e.reason);
          },
          [&](const events::PartnerResumed& e) {
            return with_reason(who + " resumed the partner " + partner_name(e.partner_id) +
                                   " in " + ws_name(e.workspace_id),
                               e.reason);
          },
          [&](const events::PartnerRevoked& e) {
            return with_reason(who + " revoked the partner " + partner_name(e.partner_id) +
                                   " in " + ws_name(e.workspace_id),
                               e.reason);
          },
          [&](const events::SharedAccessGranted& e) {
            std::string what = e.all_containers ? std::string("all containers")
                                                : "containers " + Join(e.containers);
            if (e.billing) what += " and billing";
            return who + " shared " + what + " of " + account_name(stream_account) + " with " +
                   DisplayUser(e.grantee_user_id, {});
          },
          [&](const events::SharedAccessRemoved& e) {
            return who + " removed the shared access of " + DisplayUser(e.grantee_user_id, {}) +
                   " to " + account_name(stream_account);
          },
          [&](const events::SharedAccessRetired& e) {
            return DisplayUser(e.grantee_user_id, {}) + " retired their shared access to " +
                   account_name(stream_account);
          },
          [&](const events::SubjectErased& e) {
            return who + " erased a person's email (" + std::to_string(e.subjects_removed) +
                   " vault entries)";
          },
      },
      r.event);
}

Result<AuditEntry> Queries::RenderEntry(uint64_t position) const {
  auto read = store_.Read(position);
  if (!read.ok()) return read.error();
  const events::RecordedEvent& r = *read;
  const AuditRow& row = s_.audit.row(position);
  AuditEntry e;
  e.position = position;
  e.recorded_at = r.envelope.recorded_at;
  e.type = events::TypeName(r.envelope.type);
  e.actor = r.envelope.actor;
  e.subject = s_.audit.subjects().Name(row.subject);
  if (row.account != kNone) e.account_id = s_.catalog.accounts.Name(row.account);
  if (row.workspace != kNone) e.workspace_id = s_.catalog.workspaces.Name(row.workspace);
  e.summary = Summarize(r);
  e.data = Data(r.event);
  e.hash = ToHex(r.envelope.hash);
  return e;
}

Result<AuditPage> Queries::Audit(const AuditFilter& f, const PageRequest& page,
                                 uint64_t upto) const {
  const Catalog& c = s_.catalog;
  AuditPage out;
  out.position = s_.position();
  auto start = CursorStart(page);
  if (!start) return start.error();

  AuditSelector sel;
  sel.to_position = upto == 0 ? s_.position() : std::min(upto, s_.position());
  bool empty = false;
  if (!f.account.empty()) {
    sel.use_account = true;
    sel.account = c.accounts.Find(f.account);
    empty |= sel.account == kNone;
  }
  if (!f.workspace.empty()) {
    sel.use_workspace = true;
    sel.workspace = c.workspaces.Find(f.workspace);
    empty |= sel.workspace == kNone;
  }
  if (!f.actor.empty()) {
    sel.use_actor = true;
    sel.actor = c.labels.Find(f.actor);
    if (sel.actor == kNone && f.actor.find(':') == std::string::npos &&
        f.actor != "service" && f.actor != "system") {
      sel.actor = c.labels.Find("user:" + f.actor);  // a bare user id
    }
    empty |= sel.actor == kNone;
  }
  if (!f.subject.empty()) {
    sel.use_subject = true;
    sel.subject = s_.audit.subjects().Find(f.subject);
    empty |= sel.subject == kNone;
  }
  if (!f.type.empty()) {
    events::EventType type;
    if (!events::TypeFromName(f.type, &type)) {
      return Status(ErrorCode::kInvalidField, "type: unknown event type \"" +
                                                   f.type.substr(0, 64) + "\"");
    }
    sel.use_type = true;
    sel.type = static_cast<uint16_t>(type);
  }
  if (f.from) sel.from_position = c.FirstPositionAtOrAfter(*f.from);
  if (f.to) sel.to_position = std::min(sel.to_position, c.PositionAtTime(*f.to));
  sel.from_position = std::max(sel.from_position, *start);
  if (empty) return out;

  bool more = false;
  uint64_t next = 0;
  auto positions = s_.audit.Select(sel, ClampLimit(page.limit), &more, &next);
  out.entries.reserve(positions.size());
  for (uint64_t p : positions) {
    auto e = RenderEntry(p);
    if (!e.ok()) return e.error();
    out.entries.push_back(std::move(e).value());
  }
  if (more) out.next_cursor = EncodeCursor(next);
  return out;
}

Result<AuditPage> Queries::Activity(std::string_view user, const PageRequest& page) const {
  AuditPage out;
  out.position = s_.position();
  auto start = CursorStart(page);
  if (!start) return start.error();
  uint32_t actor = s_.catalog.labels.Find("user:" + std::string(user));
  if (actor == kNone) return out;
  bool more = false;
  uint64_t next = 0;
  auto positions =
      s_.audit.ByActorNewestFirst(actor, *start, ClampLimit(page.limit), &more, &next);
  for (uint64_t p : positions) {
    auto e = RenderEntry(p);
    if (!e.ok()) return e.error();
    out.entries.push_back(std::move(e).value());
  }
  if (more) out.next_cursor = EncodeCursor(next);
  return out;
}

}  // namespace roster::projections
