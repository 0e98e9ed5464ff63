// CommandHandler: runs commands against the event store. The one entry point the gateway
// (and the CLI) calls to change anything.
//
//   ExecuteAsync(command, actor, meta, done)   (Execute: the same, waiting for `done`)
//     1. idempotency: a known Idempotency-Key answers the first result (or
//        idempotency_key_reused when the fingerprint differs) without deciding again;
//     2. route: account id, or workspace / invitation / token / partner id through the
//        Directory → the account stream "account-<id>" (unknown → not_found / invalid_token);
//     3. personal data: email keys HMAC(ledger secret, lower-cased email); vault subjects
//        only for emails the command will write;
//     4. take the account: commands on one account queue behind each other (in arrival
//        order) from deciding until their append is answered — a queue, not a mutex, so
//        no thread waits for the account; load its state (cache, else fold the stream),
//        check If-Match, Decide (decider.h);
//     5. append asynchronously (EventStore::AppendAsync) with ExpectedVersion::Exact
//        (NoStream for OpenAccount); on version_conflict catch up and decide again
//        (bounded), unless If-Match was given;
//     6. evolve the cached state and the Directory with the appended events; answer; hand
//        the account to the next command waiting for it.
//   EraseSubject erases the vault entries and appends SubjectErased to stream "privacy".
//
// Threads: steps 1-4 run on the caller's thread (they may read the store: a key not in
// memory, an account not cached). The rest runs where the store answers the append — its
// committing thread — as does a waiting command's whole turn, and `done`.
//
// Thread-safety: every public method may be called from any thread. Commands on one
// account are serialized in-process; different accounts proceed in parallel (and share
// the store's group commit). The store and clock are borrowed and must outlive the
// handler; destroy it only when no command is in flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
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
  // Where a command goes when its account is not in memory yet and must be folded from
  // its stream first (after a start or an eviction: a ReadStream pass, long for a big
  // account). Return false to refuse (full): the fold then runs on the caller's thread.
  // Lets callers that must not block — the gateway's I/O threads — hand that fold to a
  // pool. nullptr: always on the caller's thread. Default nullptr.
  std::function<bool(std::function<void()>)> load_elsewhere;
};

// What the handler holds in memory (for metrics and tests).
struct HandlerStats {
  size_t cached_accounts = 0;        // accounts with a cached state (see account_cache_entries)
  size_t remembered_keys = 0;        // idempotency results held (idempotency_cache_entries)
  uint64_t account_loads = 0;        // accounts folded from an empty cache (first use, eviction)
  uint64_t idempotency_lookups = 0;  // keys asked from the store (not held in memory)
  uint64_t loads_elsewhere = 0;      // account folds handed to HandlerOptions::load_elsewhere
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

  // Runs one command as `actor`; `done` runs exactly once with the answer: on this thread
  // when it is known without an append (a rejection, a repeat, nothing to append), else on
  // the store's committing thread once the events are durable. `done` must be quick and
  // must not call Execute or SnapshotAccount (it may call ExecuteAsync). EraseSubject runs
  // synchronously (its vault erasure is a synced write). Errors: every rule code of
  // DESIGN.md (see decider.h), not_found / invalid_token for unknown routing ids and
  // tokens, version_conflict (If-Match stale, or retries exhausted),
  // idempotency_key_reused, and store faults (io_error, unavailable, corruption).
  using CommandCallback = std::function<void(Result<CommandResult>)>;
  void ExecuteAsync(const Command& command, const Actor& actor, const CommandMeta& meta,
                    CommandCallback done);

  // ExecuteAsync, waiting for its answer. Not from a `done` callback.
  Result<CommandResult> Execute(const Command& command, const Actor& actor,
                                const CommandMeta& meta = {});

  // A copy of an account's current state (loaded on demand), taken in its turn after the
  // commands already queued on the account; nullopt for an unknown account.
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
  struct Op;
  struct Remembered {
    std::string fingerprint;
    CommandResult result;
  };

  Status Init();
  Result<Routed> Route(const Command& command, const Actor& actor);
  std::shared_ptr<Slot> GetSlot(const std::string& account_id);
  Status CatchUp(Slot& slot);
  // Runs `task` once it holds the slot (at once when free); the task ends its turn with
  // ReleaseSlot, which starts the next waiting task.
  void Acquire(const std::shared_ptr<Slot>& slot, std::function<void()> task);
  static void ReleaseSlot(Slot& slot);
  void StartOnAccount(const std::shared_ptr<Op>& op);
  void Decide(const std::shared_ptr<Op>& op);
  void OnAppended(const std::shared_ptr<Op>& op, Result<storage::AppendResult> appended);
  void Finish(const std::shared_ptr<Op>& op, Result<CommandResult> result);
  Status Stale(const Op& op, uint64_t current) const;
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
  // account always queue on the same Slot.
  std::mutex slots_mu_;
  LruCache<std::shared_ptr<Slot>> slots_;
  std::atomic<uint64_t> account_loads_{0};
  std::atomic<uint64_t> loads_elsewhere_{0};

  // Idempotency: results of keys this process appended or was asked about, LRU by key.
  // Keys not held here are asked from the store (FindIdempotencyKey).
  std::mutex idem_mu_;
  LruCache<Remembered> remembered_;
  std::atomic<uint64_t> idempotency_lookups_{0};
};

}  // namespace roster::commands
