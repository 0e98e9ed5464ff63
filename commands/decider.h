// The account decider: Decide(state, command, context) -> events | error, pure.
//
// Everything impure comes in through DecideContext: the time, fresh ids and tokens (an
// IdSource), the email keys and vault subjects the handler computed, and answers about
// other accounts (CrossAccountView). Decide never does I/O, never reads a clock and never
// throws; the same inputs (with a deterministic IdSource) give the same events.
// Each rejection carries the ErrorCode of DESIGN.md "Domain rules" and a message that
// names the offending field ("role: unknown role \"boss\" in workspace w1").
//
// Thread-safety: Decide is reentrant; the IdSource and CrossAccountView it is handed must
// be safe for the calling thread (the handler's are thread-safe).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "commands/account_state.h"
#include "commands/commands.h"
#include "events/event_types.h"

namespace roster::commands {

// Fresh identifiers and secrets. The handler's RandomIdSource draws them from the CSPRNG;
// tests use SequentialIdSource for predictable events.
class IdSource {
 public:
  virtual ~IdSource() = default;
  // prefix + `hex_digits` lower-case hex digits, e.g. "inv_3f9a0c…".
  virtual std::string NewId(std::string_view prefix, size_t hex_digits) = 0;
  // A bearer token: 32 random bytes, base64url without padding (43 characters).
  virtual std::string NewToken() = 0;
};

// Thread-safe: bytes come from the CSPRNG (RandomBytes) through a per-thread 4 KiB buffer
// (one RAND_bytes call per ~100 ids and tokens; refreshed after fork).
class RandomIdSource final : public IdSource {
 public:
  std::string NewId(std::string_view prefix, size_t hex_digits) override;
  std::string NewToken() override;
};

// Deterministic: ids prefix + zero-padded counter ("inv_000001"), tokens "token-1", ….
// Not thread-safe (tests only).
class SequentialIdSource final : public IdSource {
 public:
  std::string NewId(std::string_view prefix, size_t hex_digits) override;
  std::string NewToken() override;
  uint64_t issued() const { return next_ - 1; }

 private:
  uint64_t next_ = 1;
};

// What an invitation or link stores of its token: SHA-256 of the token's text.
events::Bytes TokenHash(std::string_view token);

// Answers about accounts other than the one being decided (partners, shares, workspace id
// uniqueness). Cross-account answers are as of the call: they are not part of the
// aggregate's optimistic-concurrency check (a partner account's admin removed a moment ago
// may still accept; accepted as eventual consistency between aggregates).
class CrossAccountView {
 public:
  struct AccountInfo {
    std::string plan;
    std::string region;
  };
  virtual ~CrossAccountView() = default;
  virtual std::optional<AccountInfo> FindAccount(std::string_view account_id) const = 0;
  // The user holds team.manage at account level in `account_id` (an owner or admin).
  virtual bool Administers(std::string_view user_id, std::string_view account_id) const = 0;
  // Some account has a workspace with this id.
  virtual bool WorkspaceExists(std::string_view workspace_id) const = 0;
};

// Everything a decision needs besides the state and the command. All pointers are
// borrowed for the duration of the Decide call.
struct DecideContext {
  Micros now = 0;
  const Actor* actor = nullptr;      // required
  events::Bytes actor_email_key;     // HMAC of the actor's lower-cased email (users only)
  std::string actor_subject;         // vault subject of the actor's email: AcceptInvite, JoinByLink
  events::Bytes email_key;           // HMAC of the command's email (invitee, member, owner)
  std::string subject;               // vault subject of that email (commands that store it)
  IdSource* ids = nullptr;           // required for commands that mint ids or tokens
  const CrossAccountView* accounts = nullptr;  // required for partner/share/workspace commands
};

// Decide's answer: the events to append (empty: nothing changes) and the command's
// outputs (CommandResult's command-specific fields: ids, token, expires_at, role, status,
// joined, account_id). The handler fills in positions and versions.
struct Decision {
  std::vector<events::Event> events;
  CommandResult out;
};

// Decides one command against one account's state. `state` is the account the command is
// addressed to (the handler routes by workspace, invitation, token or partner id); for
// OpenAccount it is the (normally empty) state of the new account's stream.
// EraseSubject is not decided here (the handler erases the vault and writes "privacy").
Result<Decision> DecideWithOutputs(const AccountState& state, const Command& command,
                                   const DecideContext& ctx);

// The events only: Decide(state, command, ctx) of DESIGN.md.
Result<std::vector<events::Event>> Decide(const AccountState& state, const Command& command,
                                          const DecideContext& ctx);

// Limits and formats the decider validates (rule 16 and invalid_field).
inline constexpr int64_t kMinInviteTtlSeconds = 60;
inline constexpr int64_t kMaxInviteTtlSeconds = 90LL * 24 * 3600;
// Ids supplied by callers: [A-Za-z0-9_-], 1..64 characters. invalid_field naming `field`.
Status ValidateId(std::string_view id, std::string_view field);

}  // namespace roster::commands
