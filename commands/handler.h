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

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "commands/account_state.h"
#include "commands/commands.h"
#include "commands/decider.h"
#include "commands/directory.h"
#include "commands/lru_cache.h"
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
  // Idempotency results kept in memory, least recently used dropped first. A repeat of a
  // key not held here costs one read of the store's idempotency record
  // (EventStore::FindIdempotencyKey), which answers the same. A command that appended
  // nothing has no record: once dropped, its repeat is decided again (as after a restart).
  // About 0.5 KiB each. Must be >= 1. Default 100000.
  size_t idempotency_cache_entries = 100'000;
  // Accounts whose folded state is kept in memory, least recently used dropped first. A
  // dropped account is folded again from its stream on its next command (one ReadStream
  // pass). An account with a command in flight is never dropped, so the cache may exceed
  // this by the number of accounts in use (trimmed at the next use). Must be >= 1.
  // Default 10000.
  size_t account_cache_entries = 10'000;
};

// What the handler holds in memory (for metrics and tests).
struct HandlerStats {
  size_t cached_accounts = 0;        // accounts with a cached state (see account_cache_entries)
  size_t remembered_keys = 0;        // idempotency results held (idempotency_cache_entries)
  uint64_t account_loads = 0;        // accounts folded from an empty cache (first use, eviction)
  uint64_t idempotency_lookups = 0;  // keys asked from the store (not held in memory)
};

class CommandHandler {
 public:
  // Rebuilds the Directory by scanning the whole log. A failed scan (corruption, I/O) or
  // invalid options (kInvalidField) are kept in status(); Execute then answers that error.
  CommandHandler(storage::EventStore& store, const Clock& clock, HandlerOptions options = {});
  ~CommandHandler();
  CommandHandler(const CommandHandler&) = delete;
  CommandHandler& operator=(const CommandHandler&) = delete;

  // Ok once the options were valid and the start-up scan succeeded.
  const Status& status() const { return init_status_; }

  HandlerStats stats();

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
  // The answer to a repeated key, if this key is known (in memory, else from the store's
  // idempotency record); nullopt for a key no committed append carried.
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

  // Account state, LRU by account. A Slot is evicted only while the cache holds its one
  // shared_ptr: every other copy is made by GetSlot under slots_mu_, so two commands on one
  // account always lock the same Slot.
  std::mutex slots_mu_;
  LruCache<std::shared_ptr<Slot>> slots_;
  std::atomic<uint64_t> account_loads_{0};

  // Idempotency: results of keys this process appended or was asked about, LRU by key.
  // Keys not held here are asked from the store (FindIdempotencyKey).
  std::mutex idem_mu_;
  LruCache<Remembered> remembered_;
  std::atomic<uint64_t> idempotency_lookups_{0};
};

}  // namespace roster::commands
