#include "commands/handler.h"

#include <algorithm>
#include <deque>
#include <functional>

#include "base/crypto.h"
#include "base/latch.h"
#include "commands/result_codec.h"
#include "events/codec.h"

namespace roster::commands {
namespace {

constexpr size_t kReadChunk = 4096;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Serializes an injected IdSource (tests' SequentialIdSource is single-threaded).
class LockedIdSource final : public IdSource {
 public:
  explicit LockedIdSource(IdSource* inner) : inner_(inner) {}
  std::string NewId(std::string_view prefix, size_t hex_digits) override {
    std::lock_guard lock(mu_);
    return inner_->NewId(prefix, hex_digits);
  }
  std::string NewToken() override {
    std::lock_guard lock(mu_);
    return inner_->NewToken();
  }

 private:
  std::mutex mu_;
  IdSource* inner_;
};

Status NotFound(std::string message) { return Error(ErrorCode::kNotFound, std::move(message)); }

Status KeyReused() {
  return Error(ErrorCode::kIdempotencyKeyReused,
               "idempotency_key: already used for a different request");
}

// Runs `task` now or, when this thread is already inside RunSerial, right after the task
// running there returns: handing an account from one command to the next (ReleaseSlot)
// then never nests, however many commands wait and however many finish synchronously.
void RunSerial(std::function<void()> task) {
  thread_local std::deque<std::function<void()>>* deferred = nullptr;
  if (deferred != nullptr) {
    deferred->push_back(std::move(task));
    return;
  }
  std::deque<std::function<void()>> local;
  deferred = &local;
  task();
  while (!local.empty()) {
    std::function<void()> next = std::move(local.front());
    local.pop_front();
    next();
  }
  deferred = nullptr;
}

}  // namespace

// One account: its cached state, and the queue that serializes commands on it. One task
// at a time holds the slot (`busy`), from deciding until its append is answered; the
// others wait in `waiting`, in arrival order. `mu` guards busy and waiting; the holder
// alone touches loaded and state.
struct CommandHandler::Slot {
  std::mutex mu;
  bool busy = false;
  std::deque<std::function<void()>> waiting;
  bool loaded = false;
  std::string account_id;
  std::string stream;
  AccountState state;
};

// A command routed to its account, with what the handler computed for the decider.
struct CommandHandler::Routed {
  std::string account_id;
  Command command;                 // with handler-assigned ids filled in
  std::string reserved_workspace;  // CreateWorkspace: released when done
  events::Bytes email_key;
  std::string subject;
  events::Bytes actor_email_key;
  std::string actor_subject;
};

// One command on its account, from taking the slot to its answer.
struct CommandHandler::Op {
  Routed routed;
  Actor actor;
  std::string actor_name;
  CommandMeta meta;
  CommandCallback done;
  std::shared_ptr<Slot> slot;
  int attempt = 1;
  bool sent_elsewhere = false;           // HandlerOptions::load_elsewhere took it once
  std::vector<events::Event> appending;  // the decided events while their append is out
  CommandResult result;                  // the answer being built
};

CommandHandler::CommandHandler(storage::EventStore& store, const Clock& clock,
                               HandlerOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      slots_(std::max<size_t>(1, options.account_cache_entries)),
      remembered_(std::max<size_t>(1, options.idempotency_cache_entries)) {
  if (options_.ids == nullptr) {
    owned_ids_ = std::make_unique<RandomIdSource>();  // thread-safe by itself
    ids_ = owned_ids_.get();
  } else {
    owned_ids_ = std::make_unique<LockedIdSource>(options_.ids);
    ids_ = owned_ids_.get();
  }
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (options_.idempotency_cache_entries < 1) {
    init_status_ = Error(ErrorCode::kInvalidField,
                         "HandlerOptions::idempotency_cache_entries must be at least 1");
  } else if (options_.account_cache_entries < 1) {
    init_status_ = Error(ErrorCode::kInvalidField,
                         "HandlerOptions::account_cache_entries must be at least 1");
  } else {
    init_status_ = Init();
  }
}

CommandHandler::~CommandHandler() = default;

Status CommandHandler::Init() {
  return store_.Scan(1, 0, [&](const events::RecordedEvent& e) {
    directory_.Apply(e);
    return true;
  });
}

HandlerStats CommandHandler::stats() {
  HandlerStats out;
  {
    std::lock_guard lock(slots_mu_);
    out.cached_accounts = slots_.size();
  }
  {
    std::lock_guard lock(idem_mu_);
    out.remembered_keys = remembered_.size();
  }
  out.account_loads = account_loads_.load(std::memory_order_relaxed);
  out.idempotency_lookups = idempotency_lookups_.load(std::memory_order_relaxed);
  out.loads_elsewhere = loads_elsewhere_.load(std::memory_order_relaxed);
  return out;
}

events::Bytes CommandHandler::EmailKey(std::string_view email) const {
  Hash256 h = HmacSha256(store_.LedgerSecret(), LowerAscii(email));
  return events::Bytes{std::string(AsBytes(h))};
}

// The account's Slot, most recently used now; then trims the cache. A Slot is in use while
// anyone but the cache holds it (a command or a snapshot, which may hold its mutex): copies
// are only made here, under slots_mu_, so a use count of 1 read under the lock cannot
// grow behind our back and such a Slot is safe to drop. An in-use Slot is skipped (never
// dropped), so everyone on one account shares one Slot and one mutex. The Slot returned
// is held by the caller during the trim, so it is never the one dropped.
std::shared_ptr<CommandHandler::Slot> CommandHandler::GetSlot(const std::string& account_id) {
  std::lock_guard lock(slots_mu_);
  std::shared_ptr<Slot> slot;
  if (auto* cached = slots_.Find(account_id)) {
    slot = *cached;
  } else {
    slot = std::make_shared<Slot>();
    slot->account_id = account_id;
    slot->stream = AccountStream(account_id);
    slots_.Put(account_id, slot);
  }
  slots_.Trim([](const std::shared_ptr<Slot>& s) { return s.use_count() > 1; });
  return slot;
}

// Folds whatever the stream has beyond the cached version. Caller holds slot.mu.
Status CommandHandler::CatchUp(Slot& slot) {
  if (!slot.loaded) account_loads_.fetch_add(1, std::memory_order_relaxed);
  while (true) {
    auto batch = store_.ReadStream(slot.stream, slot.state.version + 1, kReadChunk);
    if (!batch) return batch.error();
    for (const auto& e : *batch) {
      Evolve(slot.state, e);
      directory_.Apply(e);
    }
    if (batch->size() < kReadChunk) break;
  }
  slot.loaded = true;
  return Status::Ok();
}

std::optional<AccountState> CommandHandler::SnapshotAccount(std::string_view account_id) {
  if (!directory_.AccountExists(account_id)) return std::nullopt;
  auto slot = GetSlot(std::string(account_id));
  Latch<std::optional<AccountState>> copied;
  Acquire(slot, [this, slot, &copied] {
    std::optional<AccountState> state;
    if (slot->loaded || CatchUp(*slot).ok()) state = slot->state;
    ReleaseSlot(*slot);
    copied.Set(std::move(state));
  });
  return copied.Wait();
}

// ---- the per-account queue ----

void CommandHandler::Acquire(const std::shared_ptr<Slot>& slot, std::function<void()> task) {
  {
    std::lock_guard lock(slot->mu);
    if (slot->busy) {
      slot->waiting.push_back(std::move(task));
      return;
    }
    slot->busy = true;
  }
  RunSerial(std::move(task));
}

void CommandHandler::ReleaseSlot(Slot& slot) {
  std::function<void()> next;
  {
    std::lock_guard lock(slot.mu);
    if (slot.waiting.empty()) {
      slot.busy = false;
      return;
    }
    next = std::move(slot.waiting.front());
    slot.waiting.pop_front();
  }
  RunSerial(std::move(next));  // the slot passes to it still busy
}

// ---- idempotency ----

void CommandHandler::Remember(const CommandMeta& meta, const CommandResult& result) {
  if (meta.idempotency_key.empty()) return;
  std::lock_guard lock(idem_mu_);
  remembered_.Put(meta.idempotency_key, Remembered{meta.fingerprint, result});
  remembered_.Trim();
}

Result<CommandResult> CommandHandler::FromDeduplicated(const storage::AppendResult& appended,
                                                       const CommandMeta& meta) {
  if (appended.idempotency_fingerprint != meta.fingerprint) return KeyReused();
  CommandResult r;
  ROSTER_RETURN_IF_ERROR(DecodeResultPayload(appended.idempotency_payload, &r));
  for (size_t i = 0; i < r.events.size(); ++i) r.events[i].position = appended.first_position + i;
  r.position = appended.last_position;
  r.version = appended.stream_version;
  r.deduplicated = true;
  {
    std::lock_guard lock(idem_mu_);
    CommandResult stored = r;
    stored.deduplicated = false;
    remembered_.Put(meta.idempotency_key, Remembered{appended.idempotency_fingerprint, stored});
    remembered_.Trim();
  }
  return r;
}

std::optional<Result<CommandResult>> CommandHandler::Repeat(const CommandMeta& meta) {
  if (meta.idempotency_key.empty()) return std::nullopt;
  {
    std::lock_guard lock(idem_mu_);
    if (const Remembered* known = remembered_.Find(meta.idempotency_key)) {
      if (known->fingerprint != meta.fingerprint) return Result<CommandResult>(KeyReused());
      CommandResult r = known->result;
      r.deduplicated = true;
      return Result<CommandResult>(std::move(r));
    }
  }
  // Not in memory: a key committed before this process started, dropped from the cache,
  // or appended by another writer. The store's record answers as a repeat append would.
  // A key whose append is still syncing reads as unknown here; the command is then decided
  // and its Append (carrying the key) is deduplicated by the store.
  idempotency_lookups_.fetch_add(1, std::memory_order_relaxed);
  auto stored = store_.FindIdempotencyKey(meta.idempotency_key);
  if (!stored) return Result<CommandResult>(stored.error());
  if (!stored->has_value()) return std::nullopt;
  return FromDeduplicated(**stored, meta);
}

// ---- routing ----

Result<CommandHandler::Routed> CommandHandler::Route(const Command& command, const Actor& actor) {
  Routed r{.command = command};
  auto by_account = [&](const std::string& account_id) -> Status {
    if (!directory_.AccountExists(account_id)) {
      return NotFound("account_id: no account " + account_id);
    }
    r.account_id = account_id;
    return Status::Ok();
  };
  auto by_workspace = [&](const std::string& workspace_id) -> Status {
    auto account = directory_.AccountOfWorkspace(workspace_id);
    if (!account) return NotFound("workspace_id: no workspace " + workspace_id);
    r.account_id = *account;
    return Status::Ok();
  };
  auto by_invitation = [&](const std::string& invitation_id) -> Status {
    auto ref = directory_.FindInvitation(invitation_id);
    if (!ref) return NotFound("invitation_id: no invitation " + invitation_id);
    r.account_id = ref->account_id;
    return Status::Ok();
  };
  auto by_partner = [&](const std::string& partner_id) -> Status {
    auto account = directory_.AccountOfPartner(partner_id);
    if (!account) return NotFound("partner_id: no partner " + partner_id);
    r.account_id = *account;
    return Status::Ok();
  };
  auto by_token = [&](const std::string& token, Directory::TokenKind kind,
                      std::string_view what) -> Status {
    if (!actor.is_user() || actor.user_id.empty()) {
      return Error(ErrorCode::kForbidden,
                   "actor: " + std::string(what) + " needs a user actor (Roster-Actor)");
    }
    if (token.empty()) return Error(ErrorCode::kInvalidField, "token: required");
    auto ref = directory_.FindToken(TokenHash(token));
    if (!ref || ref->kind != kind) {
      return Error(ErrorCode::kInvalidToken, kind == Directory::TokenKind::kInvitation
                                                 ? "token: unknown or replaced invitation token"
                                                 : "token: unknown, replaced or disabled invite link");
    }
    r.account_id = ref->account_id;
    return Status::Ok();
  };

  Status st = std::visit(
      Overloaded{
          [&](OpenAccount& c) -> Status {
            if (c.account_id.empty()) {
              do {
                c.account_id = ids_->NewId("acc_", 12);
              } while (directory_.AccountExists(c.account_id));
            }
            r.account_id = c.account_id;
            return ValidateId(c.account_id, "account_id");
          },
          [&](AddAccountMember& c) { return by_account(c.account_id); },
          [&](ChangeAccountMember& c) { return by_account(c.account_id); },
          [&](RemoveAccountMember& c) { return by_account(c.account_id); },
          [&](CreateWorkspace& c) -> Status {
            ROSTER_RETURN_IF_ERROR(by_account(c.account_id));
            if (c.workspace_id.empty()) {
              do {
                c.workspace_id = ids_->NewId("ws_", 12);
              } while (!directory_.ReserveWorkspace(c.workspace_id));
            } else {
              ROSTER_RETURN_IF_ERROR(ValidateId(c.workspace_id, "workspace_id"));
              if (!directory_.ReserveWorkspace(c.workspace_id)) {
                return Error(ErrorCode::kAlreadyExists,
                             "workspace_id: workspace " + c.workspace_id + " already exists");
              }
            }
            r.reserved_workspace = c.workspace_id;
            return Status::Ok();
          },
          [&](DefineRole& c) { return by_workspace(c.workspace_id); },
          [&](UpdateMember& c) { return by_workspace(c.workspace_id); },
          [&](RemoveMember& c) { return by_workspace(c.workspace_id); },
          [&](SendInvite& c) { return by_workspace(c.workspace_id); },
          [&](ResendInvite& c) { return by_invitation(c.invitation_id); },
          [&](CancelInvite& c) { return by_invitation(c.invitation_id); },
          [&](AcceptInvite& c) {
            return by_token(c.token, Directory::TokenKind::kInvitation, "accepting an invitation");
          },
          [&](PutInviteLink& c) { return by_workspace(c.workspace_id); },
          [&](RegenerateInviteLink& c) { return by_workspace(c.workspace_id); },
          [&](DisableInviteLink& c) { return by_workspace(c.workspace_id); },
          [&](JoinByLink& c) {
            return by_token(c.token, Directory::TokenKind::kLink, "joining by link");
          },
          [&](InvitePartner& c) { return by_workspace(c.workspace_id); },
          [&](AcceptPartner& c) { return by_partner(c.partner_id); },
          [&](UpdatePartner& c) { return by_partner(c.partner_id); },
          [&](SuspendPartner& c) { return by_partner(c.partner_id); },
          [&](ResumePartner& c) { return by_partner(c.partner_id); },
          [&](RevokePartner& c) { return by_partner(c.partner_id); },
          [&](GrantShare& c) { return by_account(c.account_id); },
          [&](RemoveShare& c) { return by_account(c.account_id); },
          [&](RetireShare& c) { return by_account(c.account_id); },
          [&](EraseSubject&) -> Status {
            return Error(ErrorCode::kInternal, "EraseSubject is not routed to an account");
          },
      },
      r.command);
  if (!st.ok()) {
    if (!r.reserved_workspace.empty()) directory_.ReleaseWorkspace(r.reserved_workspace);
    return st;
  }

  // Personal data: keys for every address the rules compare, subjects only for the
  // addresses this command will write into an event (and only when well-formed).
  auto vault_subject = [&](std::string_view email, const events::Bytes& key,
                           std::string* subject) -> Status {
    if (!ValidateEmail(email, "email").ok()) return Status::Ok();  // the decider rejects it
    auto s = store_.Vault().SubjectFor(key, email);
    if (!s) return s.error();
    *subject = std::move(s).value();
    return Status::Ok();
  };
  if (actor.is_user() && !actor.email.empty()) r.actor_email_key = EmailKey(actor.email);
  Status pii = std::visit(
      Overloaded{
          [&](const OpenAccount& c) {
            r.email_key = EmailKey(c.owner_email);
            return vault_subject(c.owner_email, r.email_key, &r.subject);
          },
          [&](const AddAccountMember& c) {
            r.email_key = EmailKey(c.email);
            return vault_subject(c.email, r.email_key, &r.subject);
          },
          [&](const SendInvite& c) {
            r.email_key = EmailKey(c.email);
            return vault_subject(c.email, r.email_key, &r.subject);
          },
          [&](const AcceptInvite&) {
            return vault_subject(actor.email, r.actor_email_key, &r.actor_subject);
          },
          [&](const JoinByLink&) {
            return vault_subject(actor.email, r.actor_email_key, &r.actor_subject);
          },
          [](const auto&) { return Status::Ok(); },
      },
      r.command);
  if (!pii.ok()) {
    if (!r.reserved_workspace.empty()) directory_.ReleaseWorkspace(r.reserved_workspace);
    return pii;
  }
  return r;
}

// ---- execution ----

Result<CommandResult> CommandHandler::Execute(const Command& command, const Actor& actor,
                                              const CommandMeta& meta) {
  Latch<Result<CommandResult>> answered;
  ExecuteAsync(command, actor, meta,
               [&answered](Result<CommandResult> result) { answered.Set(std::move(result)); });
  return answered.Wait();
}

void CommandHandler::ExecuteAsync(const Command& command, const Actor& actor,
                                  const CommandMeta& meta, CommandCallback done) {
  if (!init_status_.ok()) return done(init_status_);
  if (auto repeat = Repeat(meta)) return done(std::move(*repeat));
  if (const auto* erase = std::get_if<EraseSubject>(&command)) {
    return done(ExecuteErase(*erase, actor, meta));
  }
  auto routed = Route(command, actor);
  if (!routed) return done(routed.error());
  auto op = std::make_shared<Op>();
  op->routed = std::move(routed).value();
  op->actor = actor;
  op->actor_name = actor.ToString();
  op->meta = meta;
  op->done = std::move(done);
  op->slot = GetSlot(op->routed.account_id);
  Acquire(op->slot, [this, op] { StartOnAccount(op); });
}

// Holding the slot: load the account, check the key again and If-Match, then decide.
void CommandHandler::StartOnAccount(const std::shared_ptr<Op>& op) {
  Slot& slot = *op->slot;
  if (!slot.loaded) {
    // The fold reads the whole stream: where the caller allows, not on its thread. The
    // slot stays taken meanwhile; the command goes on from there.
    if (options_.load_elsewhere && !op->sent_elsewhere &&
        directory_.AccountExists(slot.account_id)) {  // a new account has nothing to fold
      op->sent_elsewhere = true;
      if (options_.load_elsewhere([this, op] { StartOnAccount(op); })) {
        loads_elsewhere_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
    }
    if (Status st = CatchUp(slot); !st.ok()) return Finish(op, st);
  }
  // A command with this key may have committed while this one waited for the account.
  if (auto repeat = Repeat(op->meta)) return Finish(op, std::move(*repeat));
  if (op->meta.if_match && *op->meta.if_match != slot.state.version) {
    return Finish(op, Stale(*op, slot.state.version));
  }
  Decide(op);
}

Status CommandHandler::Stale(const Op& op, uint64_t current) const {
  return Error(ErrorCode::kVersionConflict,
               "If-Match: account " + op.routed.account_id + " is at version " +
                   std::to_string(current) + ", not " + std::to_string(*op.meta.if_match));
}

// Decides against the slot's state and sends the events to the store; OnAppended goes on.
void CommandHandler::Decide(const std::shared_ptr<Op>& op) {
  Slot& slot = *op->slot;
  const Routed& routed = op->routed;
  const CommandMeta& meta = op->meta;
  DecideContext ctx;
  ctx.now = clock_.Now();
  ctx.actor = &op->actor;
  ctx.actor_email_key = routed.actor_email_key;
  ctx.actor_subject = routed.actor_subject;
  ctx.email_key = routed.email_key;
  ctx.subject = routed.subject;
  ctx.ids = ids_;
  ctx.accounts = &directory_;
  auto decision = DecideWithOutputs(slot.state, routed.command, ctx);
  if (!decision) return Finish(op, decision.error());

  CommandResult result = std::move(decision->out);
  result.stream = slot.stream;
  if (decision->events.empty()) {
    result.position = store_.GetHead().position;
    result.version = slot.state.version;
    Remember(meta, result);
    return Finish(op, std::move(result));
  }
  for (const auto& e : decision->events) result.events.push_back({0, events::TypeOf(e)});

  storage::AppendRequest req;
  req.stream = slot.stream;
  req.expected = std::holds_alternative<OpenAccount>(routed.command)
                     ? storage::ExpectedVersion::NoStream()
                     : storage::ExpectedVersion::Exact(slot.state.version);
  req.events.reserve(decision->events.size());
  for (const auto& e : decision->events) {
    req.events.push_back({events::TypeOf(e), events::EncodeEvent(e)});
  }
  req.actor = op->actor_name;
  req.correlation_id = meta.correlation_id;
  req.idempotency_key = meta.idempotency_key;
  req.idempotency_fingerprint = meta.fingerprint;
  if (!meta.idempotency_key.empty()) req.idempotency_payload = EncodeResultPayload(result);

  op->appending = std::move(decision->events);
  op->result = std::move(result);
  store_.AppendAsync(std::move(req), [this, op](Result<storage::AppendResult> appended) {
    OnAppended(op, std::move(appended));
  });
}

// The store's answer (on its committing thread, or here for a refusal).
void CommandHandler::OnAppended(const std::shared_ptr<Op>& op,
                                Result<storage::AppendResult> appended) {
  Slot& slot = *op->slot;
  const CommandMeta& meta = op->meta;
  if (!appended) {
    if (appended.error().code() != ErrorCode::kVersionConflict) {
      return Finish(op, appended.error());
    }
    // Someone else wrote this stream: fold what they wrote, then decide again.
    if (Status st = CatchUp(slot); !st.ok()) return Finish(op, st);
    // What we folded may be another writer's append with our key: answer as its repeat
    // rather than deciding again against its effects (no invite_pending on a repeat).
    if (auto repeat = Repeat(meta)) return Finish(op, std::move(*repeat));
    if (meta.if_match) return Finish(op, Stale(*op, slot.state.version));
    if (op->attempt >= options_.max_attempts) return Finish(op, appended.error());
    ++op->attempt;
    return Decide(op);
  }
  if (appended->deduplicated) return Finish(op, FromDeduplicated(*appended, meta));

  // Fold our own events into the cache and the directory, as the store recorded them.
  CommandResult& result = op->result;
  const size_t n = op->appending.size();
  for (size_t i = 0; i < n; ++i) {
    events::RecordedEvent rec;
    rec.envelope.position = appended->first_position + i;
    rec.envelope.stream = slot.stream;
    rec.envelope.version = appended->stream_version - n + 1 + i;
    rec.envelope.type = events::TypeOf(op->appending[i]);
    rec.envelope.recorded_at = appended->recorded_at;
    rec.envelope.actor = op->actor_name;
    rec.envelope.correlation_id = meta.correlation_id;
    rec.envelope.idempotency_key = meta.idempotency_key;
    rec.event = std::move(op->appending[i]);
    Evolve(slot.state, rec);
    directory_.Apply(rec);
    result.events[i].position = rec.envelope.position;
  }
  op->appending.clear();
  result.position = appended->last_position;
  result.version = appended->stream_version;
  Remember(meta, result);
  Finish(op, std::move(result));
}

// Answers, then hands the account to the next command waiting for it. The answer goes
// first so that it never waits for the next command's decision.
void CommandHandler::Finish(const std::shared_ptr<Op>& op, Result<CommandResult> result) {
  if (!op->routed.reserved_workspace.empty()) {
    directory_.ReleaseWorkspace(op->routed.reserved_workspace);
  }
  std::shared_ptr<Slot> slot = std::move(op->slot);
  CommandCallback done = std::move(op->done);
  done(std::move(result));
  ReleaseSlot(*slot);
}

Result<CommandResult> CommandHandler::ExecuteErase(const EraseSubject& command,
                                                   const Actor& actor, const CommandMeta& meta) {
  if (actor.is_user()) {
    return Error(ErrorCode::kForbidden, "actor: only the service may erase personal data");
  }
  ROSTER_RETURN_IF_ERROR(ValidateEmail(command.email, "email"));
  events::Bytes key = EmailKey(command.email);
  auto removed = store_.Vault().Erase(key);
  if (!removed) return removed.error();

  CommandResult result;
  result.stream = std::string(kPrivacyStream);
  result.subjects_erased = *removed;
  events::Event event = events::SubjectErased{key, *removed};
  result.events.push_back({0, events::TypeOf(event)});

  storage::AppendRequest req;
  req.stream = result.stream;
  req.expected = storage::ExpectedVersion::Any();
  req.events.push_back({events::TypeOf(event), events::EncodeEvent(event)});
  req.actor = actor.ToString();
  req.correlation_id = meta.correlation_id;
  req.idempotency_key = meta.idempotency_key;
  req.idempotency_fingerprint = meta.fingerprint;
  if (!meta.idempotency_key.empty()) req.idempotency_payload = EncodeResultPayload(result);
  auto appended = store_.Append(std::move(req));
  if (!appended) return appended.error();
  if (appended->deduplicated) return FromDeduplicated(*appended, meta);
  result.events[0].position = appended->first_position;
  result.position = appended->last_position;
  result.version = appended->stream_version;
  Remember(meta, result);
  return result;
}

}  // namespace roster::commands
