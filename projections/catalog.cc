#include "projections/catalog.h"

#include <algorithm>

#include "projections/fields.h"

namespace roster::projections {

// ---- Interner ----

Interner::Slot Interner::MakeSlot(const Key& key, uint32_t id) {
  Slot slot;
  slot.tag = static_cast<uint32_t>(key.h >> 32);
  slot.id1 = id + 1;
  std::memcpy(slot.words, key.words, sizeof(slot.words));
  return slot;
}

void Interner::Insert(const Slot& slot) {
  size_t i = slot.tag & mask_;
  while (slots_[i].id1 != 0) i = (i + 1) & mask_;
  slots_[i] = slot;
}

void Interner::Grow() {
  size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
  BigVector<Slot> old(capacity, Slot{});
  old.swap(slots_);
  mask_ = capacity - 1;
  for (const Slot& slot : old) {
    if (slot.id1 != 0) Insert(slot);
  }
}

uint32_t Interner::Intern(std::string_view name) {
  Key key(name);
  Slot& recent = recent_[RecentIndex(key.h)];
  if (recent.id1 != 0 && Same(recent, key)) return recent.id1 - 1;
  uint32_t id = FindKey(key);
  if (id == kNone) {
    id = static_cast<uint32_t>(names_.size());
    names_.emplace_back(name);
    if (names_.size() * 2 > slots_.size()) Grow();
    Insert(MakeSlot(key, id));
  }
  recent = MakeSlot(key, id);
  return id;
}

void Interner::Save(Writer& w) const {
  w.U64(names_.size());
  for (const auto& n : names_) w.Str(n);
}

bool Interner::Load(Reader& r) {
  names_.clear();
  slots_.clear();
  std::fill(recent_.begin(), recent_.end(), Slot{});
  mask_ = 0;
  size_t n = r.Count(1);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    std::string name = r.Str();
    if (Find(name) != kNone) r.Fail();  // duplicate names: not a snapshot we wrote
    if (Intern(name) != i) r.Fail();
  }
  return r.ok();
}

// ---- RoleSlot ----

const policy::Patterns* RoleSlot::AsOf(uint64_t position) const {
  // Versions are few; newest first.
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
    if (it->from_position <= position) return &it->patterns;
  }
  return template_patterns;
}

// ---- Catalog ----

uint32_t Catalog::EnsureAccount(std::string_view id) {
  uint32_t a = accounts.Intern(id);
  if (a >= account_info_.size()) account_info_.resize(a + 1);
  return a;
}

uint32_t Catalog::EnsureUser(std::string_view id) {
  uint32_t u = users.Intern(id);
  if (u >= user_info_.size()) user_info_.resize(u + 1);
  return u;
}

uint32_t Catalog::EnsureWorkspace(std::string_view id, uint32_t account) {
  uint32_t w = workspaces.Intern(id);
  if (w >= workspace_info_.size()) {
    workspace_info_.resize(w + 1);
    workspace_info_[w] = std::make_unique<WorkspaceInfo>();
    workspace_info_[w]->account = account;
  }
  return w;
}

uint32_t Catalog::SeeUser(std::string_view id, const events::Bytes& key,
                          const std::string& subject) {
  uint32_t user = EnsureUser(id);
  UserInfo& u = user_info_[user];
  if (!subject.empty() && u.subject != subject) u.subject = subject;
  if (!key.data.empty() &&
      std::find(u.email_keys.begin(), u.email_keys.end(), key.data) == u.email_keys.end()) {
    u.email_keys.push_back(key.data);
  }
  return user;
}

namespace {
uint64_t SlotKey(uint32_t ws, uint32_t label) { return (static_cast<uint64_t>(ws) << 32) | label; }
}  // namespace

// Template roles get their label ids here (at creation), so every slot has one.
void Catalog::LinkTemplate(uint32_t w, WorkspaceInfo& ws) {
  ws.tmpl = policy::FindTemplate(ws.template_name);
  if (ws.tmpl != nullptr) {
    for (const auto& [name, patterns] : ws.tmpl->roles) {
      labels.Intern(name);
      auto& slot = ws.roles[name];
      if (!slot) slot = std::make_unique<RoleSlot>();
      slot->template_patterns = &patterns;
    }
  }
  for (const auto& [name, slot] : ws.roles) {
    uint32_t label = labels.Find(name);
    if (label != kNone) slots_by_label_[SlotKey(w, label)] = slot.get();
  }
}

RoleSlot* Catalog::EnsureSlot(uint32_t w, std::string_view role, uint32_t label) {
  if (role.empty() || w == kNone) return nullptr;
  auto [it, inserted] = slots_by_label_.try_emplace(SlotKey(w, label), nullptr);
  if (!inserted) return it->second;
  auto& slot = workspace_info_[w]->roles[std::string(role)];
  if (!slot) slot = std::make_unique<RoleSlot>();
  it->second = slot.get();
  return slot.get();
}

std::optional<std::string_view> Catalog::AccountIdOfStream(std::string_view stream) {
  constexpr std::string_view kPrefix = "account-";
  if (stream.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  return stream.substr(kPrefix.size());
}

uint32_t Catalog::AccountOfStream(std::string_view stream) const {
  auto id = AccountIdOfStream(stream);
  return id ? accounts.Find(*id) : kNone;
}

uint64_t Catalog::PositionAtTime(Micros t) const {
  return static_cast<uint64_t>(std::upper_bound(times_.begin(), times_.end(), t) - times_.begin());
}

uint64_t Catalog::FirstPositionAtOrAfter(Micros t) const {
  return static_cast<uint64_t>(std::lower_bound(times_.begin(), times_.end(), t) -
                               times_.begin()) +
         1;
}

std::string_view Catalog::ActorUser(std::string_view actor) {
  constexpr std::string_view kUser = "user:";
  if (actor.substr(0, kUser.size()) == kUser) return actor.substr(kUser.size());
  return actor;
}

void Catalog::Prefetch(const events::RecordedEvent& r) const {
  const events::Envelope& env = r.envelope;
  labels.Prefetch(env.actor);
  if (auto account = AccountIdOfStream(env.stream)) accounts.Prefetch(*account);
  std::visit(
      [&](const auto& e) {
        if constexpr (requires { e.workspace_id; }) workspaces.Prefetch(e.workspace_id);
        if constexpr (requires { e.user_id; }) users.Prefetch(e.user_id);
        if constexpr (requires { e.grantee_user_id; }) users.Prefetch(e.grantee_user_id);
        if constexpr (requires { e.invitation_id; }) labels.Prefetch(e.invitation_id);
        if constexpr (requires { e.partner_id; }) labels.Prefetch(e.partner_id);
      },
      r.event);
}

EventIds Catalog::Apply(const events::RecordedEvent& r) {
  const events::Envelope& env = r.envelope;
  Micros t = times_.empty() ? env.recorded_at : std::max(times_.back(), env.recorded_at);
  times_.push_back(t);
  EventIds ids;
  ids.actor = labels.Intern(env.actor);

  uint32_t account = kNone;
  if (auto id = AccountIdOfStream(env.stream)) account = EnsureAccount(*id);
  uint32_t ws = kNone;
  std::string_view ws_id = WorkspaceIdOf(r.event);
  if (!ws_id.empty()) ws = EnsureWorkspace(ws_id, account);
  ids.account = account;
  ids.workspace = ws;

  std::visit(
      Overloaded{
          [&](const events::AccountOpened& e) {
            uint32_t a = EnsureAccount(e.account_id);
            AccountInfo& info = account_info_[a];
            info.opened = true;
            info.name = e.name;
            info.plan = e.plan;
            info.region = e.region;
            info.opened_position = env.position;
            info.opened_at = env.recorded_at;
            info.opened_by = ids.actor;
            ids.user = SeeUser(e.owner_user_id, e.owner_email_key, e.owner_subject);
            ids.role = labels.Intern("owner");
          },
          [&](const events::AccountMemberAdded& e) {
            ids.user = SeeUser(e.user_id, e.email_key, e.subject);
            ids.role = labels.Intern(e.role);
          },
          [&](const events::AccountMemberRoleChanged& e) {
            ids.user = EnsureUser(e.user_id);
            ids.role = labels.Intern(e.to_role);
            ids.from_role = labels.Intern(e.from_role);
          },
          [&](const events::AccountMemberRemoved& e) { ids.user = EnsureUser(e.user_id); },
          [&](const events::WorkspaceCreated& e) {
            WorkspaceInfo& info = *workspace_info_[ws];
            if (info.created) return;  // defensive: a second create changes nothing
            info.created = true;
            info.account = account;
            info.name = e.name;
            info.template_name = e.template_name;
            info.invite_ttl_seconds = e.invite_ttl_seconds;
            info.created_position = env.position;
            info.created_at = env.recorded_at;
            info.created_by = ids.actor;
            LinkTemplate(ws, info);
            if (account != kNone) account_info_[account].workspaces.push_back(ws);
          },
          [&](const events::RoleDefined& e) {
            ids.role = labels.Intern(e.role);
            if (RoleSlot* slot = EnsureSlot(ws, e.role, ids.role)) {
              slot->versions.push_back(RoleVersion{env.position, e.permissions});
              ids.slot = slot;
            }
          },
          [&](const events::RoleChanged& e) {
            ids.user = EnsureUser(e.user_id);
            ids.from_role = labels.Intern(e.from_role);
            ids.role = labels.Intern(e.to_role);
            ids.slot = EnsureSlot(ws, e.to_role, ids.role);
          },
          [&](const events::AccessChanged& e) { ids.user = EnsureUser(e.user_id); },
          [&](const events::ScopeChanged& e) { ids.user = EnsureUser(e.user_id); },
          [&](const events::MemberRemoved& e) { ids.user = EnsureUser(e.user_id); },
          [&](const events::InviteSent& e) {
            ids.item = labels.Intern(e.invitation_id);
            ids.role = labels.Intern(e.role);
          },
          [&](const events::InviteResent& e) { ids.item = labels.Intern(e.invitation_id); },
          [&](const events::InviteCancelled& e) { ids.item = labels.Intern(e.invitation_id); },
          [&](const events::InviteSuperseded& e) { ids.item = labels.Intern(e.invitation_id); },
          [&](const events::InviteAccepted& e) {
            ids.item = labels.Intern(e.invitation_id);
            ids.user = SeeUser(e.user_id, e.email_key, e.subject);
            ids.role = labels.Intern(e.role);
            ids.slot = EnsureSlot(ws, e.role, ids.role);
          },
          [&](const events::LinkCreated& e) { ids.role = labels.Intern(e.role); },
          [&](const events::LinkRoleChanged& e) { ids.role = labels.Intern(e.to_role); },
          [&](const events::LinkRegenerated&) {},
          [&](const events::LinkDisabled&) {},
          [&](const events::LinkJoined& e) {
            ids.user = SeeUser(e.user_id, e.email_key, e.subject);
            ids.role = labels.Intern(e.role);
            ids.slot = EnsureSlot(ws, e.role, ids.role);
          },
          [&](const events::PartnerInvited& e) {
            EnsureAccount(e.partner_account_id);
            ids.item = labels.Intern(e.partner_id);
            ids.role = labels.Intern(e.access_level);
          },
          [&](const events::PartnerAccepted& e) {
            ids.item = labels.Intern(e.partner_id);
            if (!e.accepted_by.empty()) ids.user = EnsureUser(e.accepted_by);
          },
          [&](const events::PartnerAccessChanged& e) {
            ids.item = labels.Intern(e.partner_id);
            ids.role = labels.Intern(e.to_level);
          },
          [&](const events::PartnerSetsAssigned& e) { ids.item = labels.Intern(e.partner_id); },
          [&](const events::PartnerSetsRevoked& e) { ids.item = labels.Intern(e.partner_id); },
          [&](const events::PartnerSuspended& e) { ids.item = labels.Intern(e.partner_id); },
          [&](const events::PartnerResumed& e) { ids.item = labels.Intern(e.partner_id); },
          [&](const events::PartnerRevoked& e) { ids.item = labels.Intern(e.partner_id); },
          [&](const events::SharedAccessGranted& e) {
            ids.user = EnsureUser(e.grantee_user_id);
            if (!e.grantee_account_id.empty()) EnsureAccount(e.grantee_account_id);
          },
          [&](const events::SharedAccessRemoved& e) { ids.user = EnsureUser(e.grantee_user_id); },
          [&](const events::SharedAccessRetired& e) { ids.user = EnsureUser(e.grantee_user_id); },
          [&](const events::SubjectErased&) {},
      },
      r.event);
  return ids;
}

void Catalog::Save(Writer& w) const {
  users.Save(w);
  workspaces.Save(w);
  accounts.Save(w);
  labels.Save(w);
  w.U64(account_info_.size());
  for (const auto& a : account_info_) {
    w.Bool(a.opened);
    w.Str(a.name);
    w.Str(a.plan);
    w.Str(a.region);
    w.U64(a.opened_position);
    w.I64(a.opened_at);
    w.U32(a.opened_by);
    w.U64(a.workspaces.size());
    for (uint32_t x : a.workspaces) w.U32(x);
  }
  w.U64(workspace_info_.size());
  for (const auto& p : workspace_info_) {
    const WorkspaceInfo& ws = *p;
    w.Bool(ws.created);
    w.U32(ws.account);
    w.Str(ws.name);
    w.Str(ws.template_name);
    w.I64(ws.invite_ttl_seconds);
    w.U64(ws.created_position);
    w.I64(ws.created_at);
    w.U32(ws.created_by);
    w.U64(ws.roles.size());
    for (const auto& [name, slot] : ws.roles) {  // std::map: sorted, canonical
      w.Str(name);
      w.U64(slot->versions.size());
      for (const auto& v : slot->versions) {
        w.U64(v.from_position);
        w.Strings(v.patterns);
      }
    }
  }
  w.U64(user_info_.size());
  for (const auto& u : user_info_) {
    w.Str(u.subject);
    w.Strings(u.email_keys);
  }
  w.U64(times_.size());
  Micros prev = 0;
  for (Micros t : times_) {
    w.I64(t - prev);
    prev = t;
  }
}

bool Catalog::Load(Reader& r) {
  if (!users.Load(r) || !workspaces.Load(r) || !accounts.Load(r) || !labels.Load(r)) return false;
  account_info_.assign(r.Count(1), AccountInfo{});
  for (auto& a : account_info_) {
    a.opened = r.Bool();
    a.name = r.Str();
    a.plan = r.Str();
    a.region = r.Str();
    a.opened_position = r.U64();
    a.opened_at = r.I64();
    a.opened_by = r.U32();
    a.workspaces.resize(r.Count(1));
    for (auto& x : a.workspaces) x = r.U32();
    if (!r.ok()) return false;
  }
  workspace_info_.clear();
  slots_by_label_.clear();
  workspace_info_.resize(r.Count(1));
  for (uint32_t w = 0; w < workspace_info_.size(); ++w) {
    auto& p = workspace_info_[w];
    p = std::make_unique<WorkspaceInfo>();
    WorkspaceInfo& ws = *p;
    ws.created = r.Bool();
    ws.account = r.U32();
    ws.name = r.Str();
    ws.template_name = r.Str();
    ws.invite_ttl_seconds = r.I64();
    ws.created_position = r.U64();
    ws.created_at = r.I64();
    ws.created_by = r.U32();
    size_t roles = r.Count(2);
    for (size_t i = 0; i < roles && r.ok(); ++i) {
      auto slot = std::make_unique<RoleSlot>();
      std::string name = r.Str();
      size_t versions = r.Count(2);
      for (size_t v = 0; v < versions && r.ok(); ++v) {
        RoleVersion rv;
        rv.from_position = r.U64();
        rv.patterns = r.Strings();
        slot->versions.push_back(std::move(rv));
      }
      ws.roles.emplace(std::move(name), std::move(slot));
    }
    if (!r.ok()) return false;
    LinkTemplate(w, ws);
  }
  user_info_.assign(r.Count(1), UserInfo{});
  for (auto& u : user_info_) {
    u.subject = r.Str();
    u.email_keys = r.Strings();
  }
  times_.resize(r.Count(1));
  Micros prev = 0;
  for (auto& t : times_) {
    t = prev + r.I64();
    prev = t;
  }
  if (!r.ok()) return false;
  // Cross-checks: every id has its record.
  if (account_info_.size() != accounts.size() || workspace_info_.size() != workspaces.size() ||
      user_info_.size() != users.size()) {
    return false;
  }
  return true;
}

}  // namespace roster::projections
