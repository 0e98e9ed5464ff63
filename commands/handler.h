// CommandHandler: runs commands against the event store. The one entry point the gateway
// (and the CLI) calls to change anything.
//
//   Execute(command, actor, meta)
//     1. idempotency: a known Idempotency-Key answers the first result (or
//        idempotency_key_reused when the fingerprint differs) without deciding again;
//     2. route: account id, or workspace / invitation / token / partner id through the
//        Directory → the account stream "account-<id>" (unknown → not_found / invalid_token);
//     3. personal data: email keys HMAC(ledger secret, lower-cased email); vault subjects
//        only for emails the command will write;
//     4. lock the account (one mutex per account), load its state (cache, else fold the
//        stream), check If-Match, Decide (decider.h);
//     5. append with ExpectedVersion::Exact(version) (NoStream for OpenAccount); on
//        version_conflict catch up and decide again (bounded), unless If-Match was given;
//     6. evolve the cached state and the Directory with the appended events; answer.
//   EraseSubject erases the vault entries and appends SubjectErased to stream "privacy".
//
// Thread-safety: every public method may be called from any thread. Commands on one
// account are serialized in-process; different accounts proceed in parallel (and share
// the store's group commit). The store and clock are borrowed and must outlive the handler.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "commands/account_state.h"
#include "commands/commands.h"
#include "commands/decider.h"
#include "commands/directory.h"
#include "storage/event_store.h"

namespace roster::commands {

struct HandlerOptions {
  // How many times a command is decided and appended when the stream moved underneath it
  // (another writer) before answering version_conflict. Default 5.
  int max_attempts = 5;
  // Fresh ids and tokens. nullptr = RandomIdSource (CSPRNG). Tests inject a
  // SequentialIdSource; the handler serializes calls to it. Borrowed: must outlive the
  // handler. Default nullptr.
  IdSource* ids = nullptr;
};

class CommandHandler {
 public:
  // Rebuilds the Directory and the idempotency index by scanning the whole log. A failed
  // scan (corruption, I/O) is kept in status(); Execute then answers that error.
  CommandHandler(storage::EventStore& store, const Clock& clock, HandlerOptions options = {});
  ~CommandHandler();
  CommandHandler(const CommandHandler&) = delete;
  CommandHandler& operator=(const CommandHandler&) = delete;

  // Ok once the start-up scan succeeded.
  const Status& status() const { return init_status_; }

  // Runs one command as `actor`. Errors: every rule code of DESIGN.md (see decider.h),
  // not_found / invalid_token for unknown routing ids and tokens, version_conflict (If-Match
  // stale, or retries exhausted), idempotency_key_reused, and store faults (io_error,
  // unavailable, corruption).
  Result<CommandResult> Execute(const Command& command, const Actor& actor,
                                const CommandMeta& meta = {});

  // A copy of an account's current state (loaded on demand); nullopt for an unknown account.
  std::optional<AccountState> SnapshotAccount(std::string_view account_id);

  // Directory lookups (as of the call).
  std::optional<std::string> AccountOfWorkspace(std::string_view workspace_id) const {
    return directory_.AccountOfWorkspace(workspace_id);
  }
  std::optional<Directory::InvitationRef> FindInvitation(std::string_view invitation_id) const {
    return directory_.FindInvitation(invitation_id);
  }
  std::optional<std::string> AccountOfPartner(std::string_view partner_id) const {
    return directory_.AccountOfPartner(partner_id);
  }
  std::vector<std::string> AccountsOfUser(std::string_view user_id) const {
    return directory_.AccountsOfUser(user_id);
  }
  bool AccountExists(std::string_view account_id) const {
    return directory_.AccountExists(account_id);
  }
  const Directory& directory() const { return directory_; }

  // HMAC-SHA256(ledger secret, lower-cased email): how events carry an address.
  events::Bytes EmailKey(std::string_view email) const;

 private:
  struct Slot;
  struct Routed;
  struct Remembered {
    std::string fingerprint;
    CommandResult result;
  };

  Status Init();
  Result<Routed> Route(const Command& command, const Actor& actor);
  std::shared_ptr<Slot> GetSlot(const std::string& account_id);
  Status CatchUp(Slot& slot);
  Result<CommandResult> ExecuteOnAccount(Routed& routed, const Actor& actor,
                                         const CommandMeta& meta);
  Result<CommandResult> ExecuteErase(const EraseSubject& command, const Actor& actor,
                                     const CommandMeta& meta);
  // The answer to a repeated key, if this key is known (in memory, or from the log).
  std::optional<Result<CommandResult>> Repeat(const CommandMeta& meta);
  Result<CommandResult> FromDeduplicated(const storage::AppendResult& appended,
                                         const CommandMeta& meta);
  void Remember(const CommandMeta& meta, const CommandResult& result);

  storage::EventStore& store_;
  const Clock& clock_;
  HandlerOptions options_;
  std::unique_ptr<IdSource> owned_ids_;
  IdSource* ids_;  // the locked wrapper around options_.ids or owned_ids_
  Status init_status_;

  Directory directory_;

  std::mutex slots_mu_;
  std::unordered_map<std::string, std::shared_ptr<Slot>> slots_;

  // Idempotency: results of keys appended by this process, and keys seen in the log at
  // start-up (their payload is asked from the store on a repeat). TODO(perf): bound these
  // (keys are forever in the store, but a repeat after days needn't be O(1)).
  std::mutex idem_mu_;
  std::unordered_map<std::string, Remembered> remembered_;
  std::unordered_map<std::string, std::string> logged_keys_;  // key → stream
};

}  // namespace roster::commands
