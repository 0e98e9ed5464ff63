// The projection runner: owns every projector, applies committed events in log order on
// one projector thread, checkpoints them, and answers queries concurrently.
//
// Lifecycle:
//   Engine engine(store, {.snapshot_every_events = 50'000});
//   engine.Start();             // loads the snapshot (or starts from zero), starts the thread
//   ...  handler appends  ...
//   engine.WaitFor(result.position, 2s);  // read-your-writes: the answer is now visible
//   engine.Check("bo", "products.edit", "w1");
//   engine.Stop();              // stops the thread, writes a final snapshot
//
// Threads: one projector thread, fed by EventStore::WaitForHead (no busy polling). It
// reads a chunk of events without any lock, then applies it under the exclusive lock, one
// event per hold on the live tail and 16 per hold in a pipelined catch-up (a helper thread
// reads ahead). Every query takes the shared lock for its duration,
// so it sees one consistent position, stated in its answer. All public methods are
// thread-safe.
//
// Snapshots: every `snapshot_every_events` applied events or `snapshot_every` seconds
// (whichever first, when something changed) and at Stop(), the whole projection state and
// its position go to EventStore::PutSnapshot(`snapshot_name`). Serializing stops the
// projector thread (and so every command waiting to see its own events) for as long as
// it takes — ~0.2 s at 200k events, ~1.0 s at 1M on two slow cores — so a due snapshot
// waits for a pause in the log (one `poll` without a new event), unless it is
// `snapshot_busy_factor` times overdue. The checksum and the store's write come after,
// on a thread of their own (one write at a time). Start() loads it and
// catches up from there; a snapshot that does not decode, or whose position is beyond the
// head, is logged and ignored (the state is rebuilt from zero).
//
// Lifetimes: `store` must outlive the Engine. string_views inside query answers (Reason)
// point into the Engine's interned names and stay valid until the Engine is destroyed,
// even across RebuildFromZero() (the old state is retired, not freed).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "projections/state.h"
#include "projections/views.h"
#include "storage/event_store.h"

namespace roster::projections {

struct EngineOptions {
  // Snapshot name in the store. Default "projections".
  std::string snapshot_name = "projections";
  // Load a snapshot at Start() and write them while running. Default true. A crash loses
  // nothing either way: the log is the truth and projections catch up from the snapshot.
  bool snapshots = true;
  // Snapshot after this many applied events. More often: faster restarts, more write
  // amplification. Default 100'000.
  uint64_t snapshot_every_events = 100'000;
  // ...or after this long with changes. Default 60 s.
  std::chrono::milliseconds snapshot_every = std::chrono::seconds(60);
  // While events keep coming, a due snapshot waits until this many times either threshold
  // has passed (then it is written anyway, so a restart never replays more than that).
  // Default 8: at most 800k events or 8 min without a snapshot under unbroken load.
  uint64_t snapshot_busy_factor = 8;
  // A snapshot that takes longer is logged (`log`) with its position, size and duration:
  // the projector applied nothing meanwhile. Default 250 ms.
  std::chrono::milliseconds slow_snapshot = std::chrono::milliseconds(250);
  // WaitFor() callers are woken every this many applied events (and at the end of each
  // chunk). Default 256.
  size_t apply_batch = 256;
  // Events read from the store per chunk. Default 4096.
  size_t read_batch = 4096;
  // Catch-ups of at least this many events are pipelined: a helper thread reads and
  // decodes chunks while the projector thread applies. Default 16384.
  uint64_t pipeline_min_events = 16384;
  // Chunks the pipeline's reader may run ahead (memory: depth x read_batch events).
  // Default 4.
  size_t pipeline_depth = 4;
  // Longest single wait on the store's head (bounds Stop() latency). Default 100 ms.
  std::chrono::milliseconds poll = std::chrono::milliseconds(100);
  // Checksum and store a due snapshot on a thread of its own, so the projector waits only
  // for the serialization (Stop() and SaveSnapshot() always store before returning).
  // Default true.
  bool background_snapshot_writes = true;
  // Log sink for warnings (bad snapshot, read errors). Default: stderr.
  std::function<void(std::string_view)> log;
};

struct EngineStats {
  uint64_t events_applied = 0;       // since construction (not counting snapshot loads)
  uint64_t snapshot_loaded_at = 0;   // position of the snapshot loaded at Start(), 0 = none
  uint64_t snapshots_written = 0;
  uint64_t last_snapshot_position = 0;  // of the last snapshot stored (or loaded), 0 = none
  // Time spent serializing snapshots, and the last one's: the projector thread applies
  // nothing meanwhile, so commands waiting to see their events wait too. (Checksumming
  // and storing the bytes happen after, on a thread of their own for due snapshots.)
  double snapshot_seconds_total = 0;
  double last_snapshot_seconds = 0;
  uint64_t last_snapshot_bytes = 0;
  uint64_t rebuilds = 0;
  uint64_t head_at_start = 0;
};

enum class ExportFormat : uint8_t { kJsonLines, kCsv };

class Engine {
 public:
  explicit Engine(storage::EventStore& store, EngineOptions options = {});
  ~Engine();  // Stop()s
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads the snapshot (if any and enabled), then starts the projector thread.
  Status Start();
  // Stops the projector thread and writes a final snapshot. Idempotent.
  void Stop();

  // The last applied position.
  uint64_t position() const { return position_.load(std::memory_order_acquire); }
  // Waits until position() >= `position`; false on timeout.
  bool WaitFor(uint64_t position, std::chrono::milliseconds timeout) const;
  // WaitFor without a waiting thread: `done(true)` once position() >= `position`;
  // `done(false)` after `timeout` (checked at least every options.poll) or when the engine
  // stops first. Runs `done` on this thread when the position is already applied or the
  // engine is not running, else on the projector thread (or the one calling Stop()):
  // keep it quick. Thread-safe.
  void WhenApplied(uint64_t position, std::chrono::milliseconds timeout,
                   std::function<void(bool)> done) const;
  // Caught up with the head seen at Start().
  bool Ready() const { return position() >= stats_head_at_start_.load(); }

  // Drops the state and re-applies the log from position 1 (the projector thread does it
  // when running; otherwise this call does). Queries meanwhile see the rebuilding state.
  Status RebuildFromZero();
  // Applies everything up to the current head on the calling thread (for tools and
  // tests that do not Start()). Not while the projector thread runs.
  Status CatchUp();
  // Writes a snapshot now.
  Status SaveSnapshot();

  // A separate, never-started Engine with the state right after `position` (clamped to
  // the head), or after the last event recorded at or before `time`. Reads the store
  // only (no snapshots are loaded or written), for investigations (`roster replay`).
  static Result<std::unique_ptr<Engine>> ReplayUntil(const storage::EventStore& store,
                                                     uint64_t position);
  static Result<std::unique_ptr<Engine>> ReplayUntilTime(const storage::EventStore& store,
                                                         Micros time);

  Digests digests() const;
  EngineStats stats() const;

  // ---- Access queries (AsOf: live, at_position=n, or at=T) ----
  // Workspace form. No allocation on the live path.
  Decision Check(std::string_view principal, std::string_view permission,
                 std::string_view workspace, const Where& where = {},
                 const AsOf& at = AsOf::Live()) const;
  // Account form: shared containers (`resource`) and billing; account members' role.
  Decision CheckAccount(std::string_view principal, std::string_view permission,
                        std::string_view account, std::string_view resource,
                        const AsOf& at = AsOf::Live()) const;
  Result<WhoHasResult> WhoHas(std::string_view workspace, std::string_view permission,
                              const Where& where = {}, const AsOf& at = AsOf::Live()) const;
  UserAccessResult UserAccess(std::string_view user, const AsOf& at = AsOf::Live()) const;
  Result<AccessHistoryResult> AccessHistory(std::string_view workspace, std::string_view user,
                                            const AsOf& at = AsOf::Live()) const;
  // Compares the two moments (each an AsOf; typically AsOf::Time(T1), AsOf::Time(T2)).
  Result<AccessReviewResult> AccessReview(std::string_view workspace, const AsOf& from,
                                          const AsOf& to) const;

  // ---- Team views (live) ----
  Result<MembersResult> Members(std::string_view workspace, const PageRequest& page = {}) const;
  // `now` decides expiry (pending and now >= expires_at → expired).
  Result<InvitationsResult> Invitations(std::string_view workspace, InviteStatusFilter status,
                                        Micros now, const PageRequest& page = {}) const;
  Result<InvitationView> Invitation(std::string_view invitation_id, Micros now) const;
  Result<LinkView> InviteLink(std::string_view workspace) const;
  Result<PartnersResult> Partners(std::string_view workspace) const;
  Result<PartnerView> Partner(std::string_view partner_id) const;
  Result<SharesResult> SharesGiven(std::string_view account) const;
  SharesResult SharesReceived(std::string_view user) const;
  Result<AccountView> Account(std::string_view account) const;
  Result<WorkspaceView> Workspace(std::string_view workspace) const;
  Result<NotificationsResult> Notifications(std::string_view user,
                                            const PageRequest& page = {}) const;

  // ---- Audit ----
  Result<AuditPage> Audit(const AuditFilter& filter, const PageRequest& page = {}) const;
  Result<AuditPage> Activity(std::string_view user, const PageRequest& page = {}) const;
  // Streams every matching entry (as of the call) to `sink` page by page, in constant
  // memory: JSON Lines, or CSV with a header row (RFC 4180; cells starting with = + - @
  // tab or CR get a leading '). `sink` returns false to stop early (then kOk is returned).
  Status ExportAudit(const AuditFilter& filter, ExportFormat format,
                     const std::function<bool(std::string_view chunk)>& sink) const;

 private:
  struct ReplayTag {};
  Engine(const storage::EventStore& store, ReplayTag);

  using StopBefore = std::function<bool(const events::RecordedEvent&)>;
  void Run();
  // Reads [from, to] and applies it, one event per exclusive-lock hold, stopping early
  // (kOk) when Stop() is requested, `stop_before` says so for the next event, or a
  // rebuild swapped the state meanwhile. Ranges of at least `pipeline_min_events` are
  // read by a helper thread while this one applies.
  Status ApplyRange(uint64_t from, uint64_t to, const StopBefore& stop_before,
                    uint64_t* applied);
  // Wakes WaitFor callers and answers the WhenApplied callbacks whose position is applied.
  void NotifyWaiters() const;
  // Answers the WhenApplied callbacks past their deadline (false).
  void ExpireWaiters() const;
  // Stop(): answers every WhenApplied callback (true only for applied positions).
  void CloseWaiters();
  // force: now, if anything changed. busy: events are flowing, so only when
  // snapshot_busy_factor times overdue.
  void MaybeSnapshot(bool force, bool busy = false);
  // Serializes the state (the projector applies nothing meanwhile), then checksums and
  // stores the bytes: on a thread of its own when `background`, else before returning.
  Status Snapshot(bool background);
  void JoinSnapshotWriter();  // under snapshot_mu_
  void Log(std::string_view message) const;
  uint64_t Resolve(const AsOf& at) const;  // under the shared lock
  storage::PiiVault& vault() const;

  const storage::EventStore& store_;
  storage::EventStore* writable_;  // null for replays: no snapshots
  EngineOptions options_;

  mutable std::shared_mutex mu_;      // guards state_ (shared: queries; exclusive: apply)
  std::unique_ptr<State> state_;
  std::vector<std::unique_ptr<State>> retired_;  // kept alive for views handed out
  std::atomic<uint64_t> position_{0};

  mutable std::mutex wait_mu_;
  mutable std::condition_variable wait_cv_;
  // WhenApplied callbacks, a min-heap on position (guarded by wait_mu_).
  struct AsyncWaiter {
    uint64_t position;
    std::chrono::steady_clock::time_point deadline;
    std::function<void(bool)> done;
  };
  mutable std::vector<AsyncWaiter> async_waiters_;
  mutable std::chrono::steady_clock::time_point next_expiry_check_{};
  bool accepting_waiters_ = false;  // between Start() and Stop() (guarded by wait_mu_)

  std::mutex run_mu_;  // Start/Stop
  std::thread thread_;
  std::atomic<bool> stop_{false};
  bool running_ = false;

  std::mutex snapshot_mu_;  // one snapshot at a time
  std::thread snapshot_writer_;               // the last background write (snapshot_mu_)
  std::atomic<bool> snapshot_writing_{false};
  std::atomic<uint64_t> last_snapshot_position_{0};    // serialized (maybe still being stored)
  std::atomic<uint64_t> stored_snapshot_position_{0};  // stored or loaded
  // For stats() and the next snapshot's buffer; written under snapshot_mu_.
  std::atomic<uint64_t> snapshot_micros_total_{0}, last_snapshot_micros_{0};
  std::atomic<uint64_t> last_snapshot_size_{0};  // bytes
  std::atomic<std::chrono::steady_clock::rep> last_snapshot_ticks_{0};  // steady_clock

  std::atomic<uint64_t> stats_applied_{0}, stats_snapshot_loaded_{0}, stats_snapshots_{0},
      stats_rebuilds_{0}, stats_head_at_start_{0};
};

}  // namespace roster::projections
