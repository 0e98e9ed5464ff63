#include "projections/engine.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <optional>

#include <boost/json/serialize.hpp>

#include "projections/json.h"
#include "projections/queries.h"
#include "projections/warm_arena.h"

namespace roster::projections {

Engine::Engine(storage::EventStore& store, EngineOptions options)
    : store_(store),
      writable_(&store),
      options_(std::move(options)),
      state_(std::make_unique<State>()) {
  last_snapshot_ticks_ = std::chrono::steady_clock::now().time_since_epoch().count();
  if (options_.apply_batch == 0) options_.apply_batch = 1;
  if (options_.read_batch == 0) options_.read_batch = 1;
}

Engine::Engine(const storage::EventStore& store, ReplayTag)
    : store_(store),
      writable_(nullptr),
      state_(std::make_unique<State>()) {
  last_snapshot_ticks_ = std::chrono::steady_clock::now().time_since_epoch().count();
  options_.snapshots = false;
}

Engine::~Engine() {
  Stop();
  std::lock_guard one(snapshot_mu_);
  JoinSnapshotWriter();
}

void Engine::Log(std::string_view message) const {
  if (options_.log) {
    options_.log(message);
  } else {
    std::fprintf(stderr, "projections: %.*s\n", static_cast<int>(message.size()), message.data());
  }
}

// The vault interface offers Lookup() as const but Vault() only on a mutable store; the
// engine only ever calls Lookup() through this reference.
storage::PiiVault& Engine::vault() const {
  return const_cast<storage::EventStore&>(store_).Vault();
}

Status Engine::Start() {
  std::lock_guard run(run_mu_);
  if (running_) return Status::Ok();
  uint64_t head = store_.GetHead().position;
  stats_head_at_start_ = head;
  if (options_.snapshots && writable_ != nullptr && position() == 0) {
    uint64_t snap_position = 0;
    auto bytes = store_.GetSnapshot(options_.snapshot_name, &snap_position);
    if (bytes) {
      if (snap_position > head) {
        Log("snapshot at position " + std::to_string(snap_position) + " is beyond the head " +
            std::to_string(head) + "; rebuilding from zero");
      } else {
        auto loaded = State::Deserialize(*bytes);
        if (!loaded.ok()) {
          Log(loaded.error().ToString() + "; rebuilding from zero");
        } else if ((*loaded)->position() != snap_position) {
          Log("snapshot position does not match its content; rebuilding from zero");
        } else {
          std::unique_lock lock(mu_);
          state_ = std::move(loaded).value();
          position_.store(snap_position, std::memory_order_release);
          stats_snapshot_loaded_ = snap_position;
          last_snapshot_position_ = snap_position;
          stored_snapshot_position_ = snap_position;
        }
      }
    }
  }
  last_snapshot_ticks_ = std::chrono::steady_clock::now().time_since_epoch().count();
  stop_ = false;
  running_ = true;
  {
    std::lock_guard lock(wait_mu_);
    accepting_waiters_ = true;
  }
  thread_ = std::thread(&Engine::Run, this);
  pthread_setname_np(thread_.native_handle(), "roster-project");
  return Status::Ok();
}

void Engine::Stop() {
  std::lock_guard run(run_mu_);
  if (!running_) return;
  stop_ = true;
  NotifyWaiters();
  thread_.join();
  CloseWaiters();
  stop_ = false;
  running_ = false;
  MaybeSnapshot(/*force=*/true);
  std::lock_guard one(snapshot_mu_);
  JoinSnapshotWriter();  // when nothing changed since a background snapshot, it is the last
}

namespace {
// For std::push_heap / pop_heap: the smallest position on top.
struct LaterPosition {
  template <class W>
  bool operator()(const W& a, const W& b) const {
    return a.position > b.position;
  }
};
}  // namespace

void Engine::WhenApplied(uint64_t target, std::chrono::milliseconds timeout,
                         std::function<void(bool)> done) const {
  if (position() >= target) return done(true);
  {
    std::lock_guard lock(wait_mu_);
    // Checked under the lock NotifyWaiters takes after publishing a position, so either
    // we see the position here or NotifyWaiters sees this waiter.
    if (accepting_waiters_ && position() < target) {
      async_waiters_.push_back(
          {target, std::chrono::steady_clock::now() + timeout, std::move(done)});
      std::push_heap(async_waiters_.begin(), async_waiters_.end(), LaterPosition{});
      return;
    }
  }
  done(position() >= target);
}

void Engine::ExpireWaiters() const {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::function<void(bool)>> expired;
  {
    std::lock_guard lock(wait_mu_);
    if (async_waiters_.empty() || now < next_expiry_check_) return;
    next_expiry_check_ = now + options_.poll / 2;
    auto late = std::partition(async_waiters_.begin(), async_waiters_.end(),
                               [&](const AsyncWaiter& w) { return w.deadline > now; });
    for (auto it = late; it != async_waiters_.end(); ++it) expired.push_back(std::move(it->done));
    async_waiters_.erase(late, async_waiters_.end());
    std::make_heap(async_waiters_.begin(), async_waiters_.end(), LaterPosition{});
  }
  for (auto& done : expired) done(false);
}

void Engine::CloseWaiters() {
  std::vector<AsyncWaiter> left;
  {
    std::lock_guard lock(wait_mu_);
    accepting_waiters_ = false;
    left.swap(async_waiters_);
  }
  for (auto& w : left) w.done(position() >= w.position);
}

bool Engine::WaitFor(uint64_t target, std::chrono::milliseconds timeout) const {
  if (position() >= target) return true;
  std::unique_lock lock(wait_mu_);
  return wait_cv_.wait_for(lock, timeout, [&] { return position() >= target; });
}

void Engine::Run() {
  while (!stop_) {
    uint64_t pos = position();
    auto started = std::chrono::steady_clock::now();
    uint64_t head = store_.WaitForHead(pos, options_.poll);
    if (stop_) break;
    ExpireWaiters();
    if (head <= pos) {
      // Nothing new. If the wait returned early (a shut-down store wakes at once), pause
      // so this loop never spins.
      if (std::chrono::steady_clock::now() - started < options_.poll / 2) {
        std::unique_lock lock(wait_mu_);
        wait_cv_.wait_for(lock, options_.poll, [&] { return stop_.load(); });
      }
      MaybeSnapshot(false);  // a pause in the log: the moment for a due snapshot
      continue;
    }
    // Far behind (start-up, rebuild): the whole range, pipelined; else one chunk.
    uint64_t to = head - pos >= options_.pipeline_min_events
                      ? head
                      : std::min<uint64_t>(head, pos + options_.read_batch);
    uint64_t applied = 0;
    Status st = ApplyRange(pos + 1, to, nullptr, &applied);
    if (!st.ok()) {
      Log("applying events " + std::to_string(pos + 1) + ".." + std::to_string(to) +
          " failed: " + st.ToString() + "; retrying");
      std::unique_lock lock(wait_mu_);
      wait_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_.load(); });
      continue;
    }
    MaybeSnapshot(false, /*busy=*/true);
  }
}

namespace {

// Events applied per exclusive-lock hold during a pipelined catch-up: the lock and the
// bookkeeping are paid once per run, and a query waits at most a few tens of µs.
constexpr size_t kEventsPerHold = 16;
// Memory a catch-up allocates per applied event, for the warm arena's estimate: a 1M-event
// rebuild of projections_bench's ledger takes ~460 MiB from it (~210 MiB of state at the
// end, the rest what growing tables and vectors freed on the way).
constexpr size_t kStateBytesPerEvent = 480;

// Chunks of decoded events handed from the pipelined reader to the applying thread.
struct Chunk {
  std::vector<events::RecordedEvent> events;
  Status status;
};

class ChunkQueue {
 public:
  explicit ChunkQueue(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  // False when closed (the chunk is dropped).
  bool Push(Chunk chunk) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || chunks_.size() < capacity_; });
    if (closed_) return false;
    chunks_.push_back(std::move(chunk));
    not_empty_.notify_one();
    return true;
  }
  // Without waiting: false when full or closed (the chunk is dropped).
  bool TryPush(Chunk chunk) {
    std::lock_guard lock(mu_);
    if (closed_ || chunks_.size() >= capacity_) return false;
    chunks_.push_back(std::move(chunk));
    return true;
  }
  std::optional<Chunk> TryPop() {
    std::lock_guard lock(mu_);
    if (chunks_.empty()) return std::nullopt;
    Chunk c = std::move(chunks_.front());
    chunks_.pop_front();
    return c;
  }
  // nullopt once closed and drained.
  std::optional<Chunk> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !chunks_.empty(); });
    if (chunks_.empty()) return std::nullopt;
    Chunk c = std::move(chunks_.front());
    chunks_.pop_front();
    not_full_.notify_one();
    return c;
  }
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Chunk> chunks_;
  size_t capacity_;
  bool closed_ = false;
};

}  // namespace

void Engine::NotifyWaiters() const {
  std::vector<std::function<void(bool)>> ready;
  {
    std::lock_guard lock(wait_mu_);
    const uint64_t applied = position();
    while (!async_waiters_.empty() && async_waiters_.front().position <= applied) {
      std::pop_heap(async_waiters_.begin(), async_waiters_.end(), LaterPosition{});
      ready.push_back(std::move(async_waiters_.back().done));
      async_waiters_.pop_back();
    }
  }
  wait_cv_.notify_all();
  for (auto& done : ready) done(true);
}

Status Engine::ApplyRange(uint64_t from, uint64_t to, const StopBefore& stop_before,
                          uint64_t* applied) {
  *applied = 0;
  if (to < from) return Status::Ok();
  uint64_t expected = from;
  Status problem;
  size_t since_notify = 0;
  // Applies up to `n` consecutive events under one exclusive-lock hold; false stops the
  // range (stop requested, `stop_before`, a rebuild raced, a gap).
  auto consume_run = [&](const events::RecordedEvent* run, size_t n) -> bool {
    if (stop_.load(std::memory_order_relaxed)) return false;
    size_t done = 0;
    bool go = true;
    {
      std::unique_lock lock(mu_);
      constexpr size_t kAhead = 4;  // events prefetched ahead of the one applied
      for (size_t i = 0; i < std::min(n, kAhead); ++i) state_->Prefetch(run[i]);
      for (; done < n; ++done) {
        if (done + kAhead < n) state_->Prefetch(run[done + kAhead]);
        const events::RecordedEvent& e = run[done];
        if (stop_before && stop_before(e)) {
          go = false;
          break;
        }
        if (e.envelope.position != expected) {
          problem = Status(ErrorCode::kCorruption, "the store returned position " +
                                                       std::to_string(e.envelope.position) +
                                                       " where " + std::to_string(expected) +
                                                       " was expected");
          go = false;
          break;
        }
        if (state_->position() + 1 != e.envelope.position) {  // a rebuild raced
          go = false;
          break;
        }
        state_->Apply(e);
        ++expected;
      }
      if (done > 0) position_.store(expected - 1, std::memory_order_release);
    }
    *applied += done;
    stats_applied_.fetch_add(done, std::memory_order_relaxed);
    since_notify += done;
    if (since_notify >= options_.apply_batch) {
      NotifyWaiters();
      since_notify = 0;
    }
    return go;
  };

  if (to - from + 1 < options_.pipeline_min_events) {
    // The live tail: one event per lock hold, so queries wait at most one apply.
    Status st = store_.Scan(from, to, [&](const events::RecordedEvent& e) {
      return consume_run(&e, 1);
    });
    NotifyWaiters();
    return st.ok() ? problem : st;
  }

  // A long catch-up: one reader thread scans and decodes chunks (events moved out of the
  // store, not copied) while this thread applies, so the two costs overlap. Applied
  // chunks go back to the reader, which destroys their events and reuses the vector:
  // freeing a chunk's strings is not the applying thread's work.
  // What this thread allocates comes from memory populated ahead by another thread
  // (warm_arena.h): page faults were the largest cost of a rebuild in a fresh process.
  warm_arena::ScopedBinding warm((to - from + 1) * kStateBytesPerEvent);
  State* bulk = nullptr;  // the state put in bulk mode (a rebuild may swap state_)
  {
    std::unique_lock lock(mu_);
    bulk = state_.get();
    bulk->BeginBulk(to);
  }
  ChunkQueue queue(options_.pipeline_depth);
  ChunkQueue spent(options_.pipeline_depth + 2);
  std::atomic<bool> abort{false};
  std::thread reader([&] {
    pthread_setname_np(pthread_self(), "roster-catchup");
    for (uint64_t f = from; f <= to && !abort.load();) {
      uint64_t t = std::min<uint64_t>(to, f + options_.read_batch - 1);
      Chunk chunk;
      if (auto used = spent.TryPop()) {
        used->events.clear();
        chunk.events = std::move(used->events);
      }
      chunk.events.reserve(t - f + 1);
      chunk.status = store_.ScanOwned(f, t, [&](events::RecordedEvent&& e) {
        chunk.events.push_back(std::move(e));
        return !abort.load(std::memory_order_relaxed);
      });
      bool failed = !chunk.status.ok();
      if (!queue.Push(std::move(chunk)) || failed) break;
      f = t + 1;
    }
    queue.Close();
  });
  Status st;
  while (auto chunk = queue.Pop()) {
    if (!chunk->status.ok()) {
      st = chunk->status;
      break;
    }
    bool go = true;
    const std::vector<events::RecordedEvent>& events = chunk->events;
    for (size_t i = 0; go && i < events.size(); i += kEventsPerHold) {
      go = consume_run(&events[i], std::min(kEventsPerHold, events.size() - i));
    }
    if (!go) break;
    spent.TryPush(std::move(*chunk));
  }
  abort = true;
  queue.Close();
  reader.join();
  {
    std::unique_lock lock(mu_);
    if (state_.get() == bulk) bulk->EndBulk();  // a retired state is never queried again
  }
  NotifyWaiters();
  return st.ok() ? problem : st;
}

Status Engine::CatchUp() {
  {
    std::lock_guard run(run_mu_);
    if (running_) {
      return Status(ErrorCode::kInternal, "CatchUp() while the projector thread runs");
    }
  }
  uint64_t applied = 0;
  return ApplyRange(position() + 1, store_.GetHead().position, nullptr, &applied);
}

Status Engine::RebuildFromZero() {
  {
    std::unique_lock lock(mu_);
    retired_.push_back(std::move(state_));
    state_ = std::make_unique<State>();
    position_.store(0, std::memory_order_release);
  }
  ++stats_rebuilds_;
  bool running;
  {
    std::lock_guard run(run_mu_);
    running = running_;
  }
  if (running) return Status::Ok();  // the projector thread catches up
  uint64_t applied = 0;
  return ApplyRange(1, store_.GetHead().position, nullptr, &applied);
}

void Engine::MaybeSnapshot(bool force, bool busy) {
  if (!options_.snapshots || writable_ == nullptr) return;
  uint64_t pos = position();
  uint64_t last = last_snapshot_position_.load();
  if (pos == last) return;
  if (!force) {
    // The last one is still being written: this one waits for the next chance.
    if (snapshot_writing_.load()) return;
    const uint64_t factor = busy ? std::max<uint64_t>(1, options_.snapshot_busy_factor) : 1;
    uint64_t changed = pos > last ? pos - last : pos;
    bool due_events = changed >= options_.snapshot_every_events * factor;
    auto since = std::chrono::steady_clock::now().time_since_epoch() -
                 std::chrono::steady_clock::duration(last_snapshot_ticks_.load());
    bool due_time = since >= options_.snapshot_every * static_cast<int64_t>(factor);
    if (!due_events && !due_time) return;
  }
  Status st = Snapshot(/*background=*/!force && options_.background_snapshot_writes);
  if (!st.ok()) Log("snapshot failed: " + st.ToString());
}

Status Engine::SaveSnapshot() {
  if (writable_ == nullptr) {
    return Status(ErrorCode::kInternal, "a replay engine writes no snapshots");
  }
  return Snapshot(/*background=*/false);
}

void Engine::JoinSnapshotWriter() {
  if (snapshot_writer_.joinable()) snapshot_writer_.join();
}

Status Engine::Snapshot(bool background) {
  std::lock_guard one(snapshot_mu_);
  JoinSnapshotWriter();  // an earlier snapshot is stored before a later one
  const auto started = std::chrono::steady_clock::now();
  std::string bytes;
  uint64_t pos;
  {
    std::shared_lock lock(mu_);
    // Room for the state as big as last time plus an eighth (~100 bytes per event before
    // the first), so a state of hundreds of MiB is not regrown and copied on the way: on
    // this VM every fresh 4 KiB page of a copy costs a ~12 µs fault.
    const size_t last = last_snapshot_size_.load();
    size_t expected = last > 0 ? last + last / 8 : static_cast<size_t>(state_->position()) * 100;
    bytes = state_->SerializeUnsealed(expected + 32);
    pos = state_->position();
  }
  // From here on the state is free again: checksum and storage need only the bytes.
  const auto stalled = std::chrono::steady_clock::now() - started;
  const auto stall_micros = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(stalled).count());
  snapshot_micros_total_ += stall_micros;
  last_snapshot_micros_ = stall_micros;
  last_snapshot_size_ = bytes.size() + 32;
  last_snapshot_position_ = pos;  // not due again while it is being written
  last_snapshot_ticks_ = std::chrono::steady_clock::now().time_since_epoch().count();
  auto store = [this, pos, started, stall_micros](std::string bytes) {
    State::Seal(bytes);
    Status st = writable_->PutSnapshot(options_.snapshot_name, pos, bytes);
    const auto micros = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                              started)
            .count());
    if (st.ok()) {
      stored_snapshot_position_ = pos;
      ++stats_snapshots_;
      if (micros >= static_cast<uint64_t>(options_.slow_snapshot.count()) * 1000) {
        // While the state was serialized the projector applied nothing: a command answered
        // in that window waited for it. Named so a latency spike can be matched to it.
        Log("snapshot at position " + std::to_string(pos) + " (" +
            std::to_string(bytes.size() >> 20) + " MiB) took " + std::to_string(micros / 1000) +
            " ms, of which the projector waited " + std::to_string(stall_micros / 1000) + " ms");
      }
    }
    return st;
  };
  if (!background) return store(std::move(bytes));
  snapshot_writing_ = true;
  snapshot_writer_ = std::thread([this, store, bytes = std::move(bytes)]() mutable {
    pthread_setname_np(pthread_self(), "roster-snapshot");
    Status st = store(std::move(bytes));
    if (!st.ok()) Log("snapshot failed: " + st.ToString());
    snapshot_writing_ = false;
  });
  return Status::Ok();
}

Result<std::unique_ptr<Engine>> Engine::ReplayUntil(const storage::EventStore& store,
                                                    uint64_t position) {
  std::unique_ptr<Engine> engine(new Engine(store, ReplayTag{}));
  uint64_t head = store.GetHead().position;
  uint64_t to = std::min(position, head);
  uint64_t applied = 0;
  ROSTER_RETURN_IF_ERROR(engine->ApplyRange(1, to, nullptr, &applied));
  return engine;
}

Result<std::unique_ptr<Engine>> Engine::ReplayUntilTime(const storage::EventStore& store,
                                                        Micros time) {
  std::unique_ptr<Engine> engine(new Engine(store, ReplayTag{}));
  uint64_t head = store.GetHead().position;
  if (head == 0) return engine;
  // The running maximum of recorded_at, as Catalog::PositionAtTime defines "at=T": stop
  // at the first event recorded after T.
  Micros seen = INT64_MIN;
  uint64_t applied = 0;
  ROSTER_RETURN_IF_ERROR(engine->ApplyRange(
      1, head,
      [&](const events::RecordedEvent& e) {
        seen = std::max(seen, e.envelope.recorded_at);
        return seen > time;
      },
      &applied));
  return engine;
}

Digests Engine::digests() const {
  std::shared_lock lock(mu_);
  return state_->Digest();
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.events_applied = stats_applied_;
  s.snapshot_loaded_at = stats_snapshot_loaded_;
  s.snapshots_written = stats_snapshots_;
  s.last_snapshot_position = stored_snapshot_position_;
  s.snapshot_seconds_total = static_cast<double>(snapshot_micros_total_.load()) / 1e6;
  s.last_snapshot_seconds = static_cast<double>(last_snapshot_micros_.load()) / 1e6;
  s.last_snapshot_bytes = last_snapshot_size_.load();
  s.rebuilds = stats_rebuilds_;
  s.head_at_start = stats_head_at_start_;
  return s;
}

uint64_t Engine::Resolve(const AsOf& at) const {
  switch (at.kind) {
    case AsOf::Kind::kLive: return state_->position();
    case AsOf::Kind::kPosition: return std::min(at.position, state_->position());
    case AsOf::Kind::kTime: return state_->catalog.PositionAtTime(at.time);
  }
  return state_->position();
}

// ---- Queries: shared lock, resolve the moment, delegate ----

#define ROSTER_QUERY(...)                      \
  std::shared_lock lock(mu_);                  \
  Queries q(*state_, store_, vault());         \
  return q.__VA_ARGS__

Decision Engine::Check(std::string_view principal, std::string_view permission,
                       std::string_view workspace, const Where& where, const AsOf& at) const {
  ROSTER_QUERY(Check(principal, permission, workspace, where, Resolve(at)));
}

Decision Engine::CheckAccount(std::string_view principal, std::string_view permission,
                              std::string_view account, std::string_view resource,
                              const AsOf& at) const {
  ROSTER_QUERY(CheckAccount(principal, permission, account, resource, Resolve(at)));
}

Result<WhoHasResult> Engine::WhoHas(std::string_view workspace, std::string_view permission,
                                    const Where& where, const AsOf& at) const {
  ROSTER_QUERY(WhoHas(workspace, permission, where, Resolve(at)));
}

UserAccessResult Engine::UserAccess(std::string_view user, const AsOf& at) const {
  ROSTER_QUERY(UserAccess(user, Resolve(at)));
}

Result<AccessHistoryResult> Engine::AccessHistory(std::string_view workspace,
                                                  std::string_view user, const AsOf& at) const {
  ROSTER_QUERY(AccessHistory(workspace, user, Resolve(at)));
}

Result<AccessReviewResult> Engine::AccessReview(std::string_view workspace, const AsOf& from,
                                                const AsOf& to) const {
  ROSTER_QUERY(AccessReview(workspace, Resolve(from), Resolve(to)));
}

Result<MembersResult> Engine::Members(std::string_view workspace, const PageRequest& page) const {
  ROSTER_QUERY(Members(workspace, page));
}

Result<InvitationsResult> Engine::Invitations(std::string_view workspace,
                                              InviteStatusFilter status, Micros now,
                                              const PageRequest& page) const {
  ROSTER_QUERY(Invitations(workspace, status, now, page));
}

Result<InvitationView> Engine::Invitation(std::string_view invitation_id, Micros now) const {
  ROSTER_QUERY(Invitation(invitation_id, now));
}

Result<LinkView> Engine::InviteLink(std::string_view workspace) const {
  ROSTER_QUERY(InviteLink(workspace));
}

Result<PartnersResult> Engine::Partners(std::string_view workspace) const {
  ROSTER_QUERY(Partners(workspace));
}

Result<PartnerView> Engine::Partner(std::string_view partner_id) const {
  ROSTER_QUERY(Partner(partner_id));
}

Result<SharesResult> Engine::SharesGiven(std::string_view account) const {
  ROSTER_QUERY(SharesGiven(account));
}

SharesResult Engine::SharesReceived(std::string_view user) const {
  ROSTER_QUERY(SharesReceived(user));
}

Result<AccountView> Engine::Account(std::string_view account) const {
  ROSTER_QUERY(Account(account));
}

Result<WorkspaceView> Engine::Workspace(std::string_view workspace) const {
  ROSTER_QUERY(Workspace(workspace));
}

Result<NotificationsResult> Engine::Notifications(std::string_view user,
                                                  const PageRequest& page) const {
  ROSTER_QUERY(Notifications(user, page));
}

Result<AuditPage> Engine::Audit(const AuditFilter& filter, const PageRequest& page) const {
  ROSTER_QUERY(Audit(filter, page));
}

Result<AuditPage> Engine::Activity(std::string_view user, const PageRequest& page) const {
  ROSTER_QUERY(Activity(user, page));
}

#undef ROSTER_QUERY

Status Engine::ExportAudit(const AuditFilter& filter, ExportFormat format,
                           const std::function<bool(std::string_view)>& sink) const {
  uint64_t upto;
  {
    std::shared_lock lock(mu_);
    upto = state_->position();
  }
  if (format == ExportFormat::kCsv && !sink(AuditCsvHeader())) return Status::Ok();
  PageRequest page{kMaxLimit, ""};
  std::string chunk;
  for (;;) {
    Result<AuditPage> r = [&]() -> Result<AuditPage> {
      std::shared_lock lock(mu_);
      Queries q(*state_, store_, vault());
      return q.Audit(filter, page, upto);
    }();
    if (!r.ok()) return r.error();
    chunk.clear();
    for (const AuditEntry& e : r->entries) {
      if (format == ExportFormat::kCsv) {
        chunk += AuditCsvRow(e);
      } else {
        chunk += boost::json::serialize(AuditEntryToJson(e));
        chunk += '\n';
      }
    }
    if (!chunk.empty() && !sink(chunk)) return Status::Ok();
    if (!r->next_cursor) return Status::Ok();
    page.cursor = *r->next_cursor;
  }
}

}  // namespace roster::projections
