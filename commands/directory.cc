#include "commands/directory.h"

#include <mutex>

#include "policy/policy.h"

namespace roster::commands {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

constexpr std::string_view kAccountPrefix = "account-";

}  // namespace

void Directory::AddUser(const std::string& user_id, const std::string& account_id) {
  ++users_[user_id][account_id];
}

void Directory::RemoveUser(const std::string& user_id, const std::string& account_id) {
  auto u = users_.find(user_id);
  if (u == users_.end()) return;
  auto a = u->second.find(account_id);
  if (a == u->second.end()) return;
  if (--a->second <= 0) u->second.erase(a);
  if (u->second.empty()) users_.erase(u);
}

void Directory::Apply(const events::RecordedEvent& recorded) {
  const events::Envelope& env = recorded.envelope;
  if (env.stream.rfind(kAccountPrefix, 0) != 0) return;
  const std::string account_id = env.stream.substr(kAccountPrefix.size());
  std::unique_lock lock(mu_);
  Account& acc = accounts_[account_id];
  if (env.version != 0 && env.version <= acc.applied_version) return;
  acc.applied_version = env.version;
  auto set_token = [&](std::unordered_map<std::string, std::string>& current, const std::string& id,
                       const events::Bytes& hash, TokenKind kind) {
    auto it = current.find(id);
    if (it != current.end()) tokens_.erase(it->second);
    current[id] = hash.data;
    tokens_[hash.data] = TokenRef{account_id, kind, id};
  };
  std::visit(
      Overloaded{
          [&](const events::AccountOpened& e) {
            acc.plan = e.plan;
            acc.region = e.region;
            acc.member_roles[e.owner_user_id] = "owner";
            AddUser(e.owner_user_id, account_id);
          },
          [&](const events::AccountMemberAdded& e) {
            acc.member_roles[e.user_id] = e.role;
            AddUser(e.user_id, account_id);
          },
          [&](const events::AccountMemberRoleChanged& e) { acc.member_roles[e.user_id] = e.to_role; },
          [&](const events::AccountMemberRemoved& e) {
            acc.member_roles.erase(e.user_id);
            RemoveUser(e.user_id, account_id);
          },
          [&](const events::WorkspaceCreated& e) { workspaces_[e.workspace_id] = account_id; },
          [&](const events::InviteSent& e) {
            invitations_[e.invitation_id] = InvitationRef{account_id, e.workspace_id};
            set_token(invitation_tokens_, e.invitation_id, e.token_hash, TokenKind::kInvitation);
          },
          [&](const events::InviteResent& e) {
            set_token(invitation_tokens_, e.invitation_id, e.token_hash, TokenKind::kInvitation);
          },
          [&](const events::InviteAccepted& e) { AddUser(e.user_id, account_id); },
          [&](const events::LinkJoined& e) { AddUser(e.user_id, account_id); },
          [&](const events::MemberRemoved& e) { RemoveUser(e.user_id, account_id); },
          [&](const events::LinkCreated& e) {
            set_token(link_tokens_, e.workspace_id, e.token_hash, TokenKind::kLink);
          },
          [&](const events::LinkRegenerated& e) {
            set_token(link_tokens_, e.workspace_id, e.token_hash, TokenKind::kLink);
          },
          [&](const events::PartnerInvited& e) { partners_[e.partner_id] = account_id; },
          [](const auto&) {},
      },
      recorded.event);
}

std::optional<std::string> Directory::AccountOfWorkspace(std::string_view workspace_id) const {
  std::shared_lock lock(mu_);
  auto it = workspaces_.find(std::string(workspace_id));
  if (it == workspaces_.end()) return std::nullopt;
  return it->second;
}

std::optional<Directory::InvitationRef> Directory::FindInvitation(
    std::string_view invitation_id) const {
  std::shared_lock lock(mu_);
  auto it = invitations_.find(std::string(invitation_id));
  if (it == invitations_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> Directory::AccountOfPartner(std::string_view partner_id) const {
  std::shared_lock lock(mu_);
  auto it = partners_.find(std::string(partner_id));
  if (it == partners_.end()) return std::nullopt;
  return it->second;
}

std::optional<Directory::TokenRef> Directory::FindToken(const events::Bytes& token_hash) const {
  std::shared_lock lock(mu_);
  auto it = tokens_.find(token_hash.data);
  if (it == tokens_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Directory::AccountsOfUser(std::string_view user_id) const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  auto it = users_.find(std::string(user_id));
  if (it == users_.end()) return out;
  for (const auto& [account, n] : it->second) out.push_back(account);
  return out;
}

bool Directory::AccountExists(std::string_view account_id) const {
  std::shared_lock lock(mu_);
  auto it = accounts_.find(std::string(account_id));
  return it != accounts_.end() && !it->second.plan.empty();
}

size_t Directory::AccountCount() const {
  std::shared_lock lock(mu_);
  size_t n = 0;
  for (const auto& [id, a] : accounts_) n += a.plan.empty() ? 0 : 1;
  return n;
}

std::optional<CrossAccountView::AccountInfo> Directory::FindAccount(
    std::string_view account_id) const {
  std::shared_lock lock(mu_);
  auto it = accounts_.find(std::string(account_id));
  if (it == accounts_.end() || it->second.plan.empty()) return std::nullopt;
  return AccountInfo{it->second.plan, it->second.region};
}

bool Directory::Administers(std::string_view user_id, std::string_view account_id) const {
  std::shared_lock lock(mu_);
  auto it = accounts_.find(std::string(account_id));
  if (it == accounts_.end()) return false;
  auto m = it->second.member_roles.find(std::string(user_id));
  if (m == it->second.member_roles.end()) return false;
  const policy::Patterns* role = policy::AccountRole(m->second);
  return role != nullptr && policy::PatternsAllow(*role, "team.manage");
}

bool Directory::WorkspaceExists(std::string_view workspace_id) const {
  std::shared_lock lock(mu_);
  return workspaces_.count(std::string(workspace_id)) > 0;
}

bool Directory::ReserveWorkspace(const std::string& workspace_id) {
  std::unique_lock lock(mu_);
  if (workspaces_.count(workspace_id) > 0) return false;
  return reserved_workspaces_.insert(workspace_id).second;
}

void Directory::ReleaseWorkspace(const std::string& workspace_id) {
  std::unique_lock lock(mu_);
  reserved_workspaces_.erase(workspace_id);
}

}  // namespace roster::commands
