// Directory: the handler's in-memory index of where things live, folded from every
// account stream: workspace → account, invitation → (account, workspace), partner →
// account, token hash → (account, kind, id), user → accounts, and per account its plan,
// region and account-member roles (for cross-account rules: partners, shares).
//
// Rebuilt at start-up by scanning the log, then fed each event the handler appends (or
// catches up on). Apply is idempotent per stream version, so an event seen twice (scan and
// catch-up) counts once.
//
// Thread-safety: every method may be called concurrently (a shared mutex; Apply takes it
// exclusively). Answers are as of the call.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "commands/decider.h"
#include "events/event_types.h"

namespace roster::commands {

class Directory final : public CrossAccountView {
 public:
  enum class TokenKind : uint8_t { kInvitation, kLink };
  struct TokenRef {
    std::string account_id;
    TokenKind kind;
    std::string id;  // the invitation id (kInvitation) or the workspace id (kLink)
  };
  struct InvitationRef {
    std::string account_id;
    std::string workspace_id;
  };

  // Folds one event. Events of streams other than "account-…" are ignored; an event whose
  // stream version was already applied is ignored.
  void Apply(const events::RecordedEvent& recorded);

  std::optional<std::string> AccountOfWorkspace(std::string_view workspace_id) const;
  std::optional<InvitationRef> FindInvitation(std::string_view invitation_id) const;
  std::optional<std::string> AccountOfPartner(std::string_view partner_id) const;
  // The account and object a token hash belongs to. Old tokens (replaced by a resend or a
  // regenerate) are forgotten; tokens of cancelled/accepted invitations and disabled links
  // are kept, so the decider can answer invite_not_pending / invalid_token precisely.
  std::optional<TokenRef> FindToken(const events::Bytes& token_hash) const;
  // Accounts where the user is an account member or a member of some workspace. Sorted.
  std::vector<std::string> AccountsOfUser(std::string_view user_id) const;
  bool AccountExists(std::string_view account_id) const;
  size_t AccountCount() const;

  // CrossAccountView.
  std::optional<AccountInfo> FindAccount(std::string_view account_id) const override;
  bool Administers(std::string_view user_id, std::string_view account_id) const override;
  bool WorkspaceExists(std::string_view workspace_id) const override;

  // Reserves a workspace id for a CreateWorkspace in flight, so two accounts cannot create
  // the same id concurrently. False when the id exists or is reserved. Release it when the
  // command has finished (appended or failed).
  bool ReserveWorkspace(const std::string& workspace_id);
  void ReleaseWorkspace(const std::string& workspace_id);

 private:
  struct Account {
    std::string plan, region;
    std::map<std::string, std::string> member_roles;  // account members: user → role
    uint64_t applied_version = 0;
  };

  void AddUser(const std::string& user_id, const std::string& account_id);
  void RemoveUser(const std::string& user_id, const std::string& account_id);

  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, Account> accounts_;
  std::unordered_map<std::string, std::string> workspaces_;  // workspace → account
  std::unordered_set<std::string> reserved_workspaces_;
  std::unordered_map<std::string, InvitationRef> invitations_;
  std::unordered_map<std::string, std::string> invitation_tokens_;  // invitation → hash
  std::unordered_map<std::string, std::string> link_tokens_;        // workspace → hash
  std::unordered_map<std::string, std::string> partners_;           // partner → account
  std::unordered_map<std::string, TokenRef> tokens_;                // hash bytes → ref
  // user → account → number of memberships there (account + workspace memberships).
  std::unordered_map<std::string, std::map<std::string, int>> users_;
};

}  // namespace roster::commands
