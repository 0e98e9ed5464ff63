// A RocksDB FileSystem that fails WAL writes or syncs on command, for the "failed sync"
// tests (STYLE.md habit 9: a fault-injecting store). Only WAL files (*.log) are affected:
// they are what an append writes and syncs before it is acknowledged.
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

namespace roster::storage::testing {

class FaultInjectionFs final : public rocksdb::FileSystemWrapper {
 public:
  enum class SyncFailure {
    // Sync fails; the bytes already written stay in the file, as when the kernel kept
    // the dirty pages (the group's outcome is then unknown).
    kKeepData,
    // Sync fails and the file is cut back to its last synced size, as when the device
    // lost the unsynced writes.
    kDropUnsynced,
  };

  explicit FaultInjectionFs(std::shared_ptr<rocksdb::FileSystem> base)
      : rocksdb::FileSystemWrapper(std::move(base)) {}

  static const char* kClassName() { return "RosterFaultInjectionFs"; }
  const char* Name() const override { return kClassName(); }

  // From now on, every WAL Sync/Fsync fails (until cleared).
  void FailWalSyncs(SyncFailure how) {
    drop_unsynced_.store(how == SyncFailure::kDropUnsynced);
    fail_sync_.store(true);
  }
  // From now on, every WAL Sync/Fsync first sleeps this long (0 = no delay): a slow disk,
  // so that tests can act while a group's sync is in flight.
  void DelayWalSyncs(std::chrono::milliseconds delay) { sync_delay_ms_.store(delay.count()); }
  // From now on, every WAL Sync/Fsync waits until ReleaseWalSyncs: a sync held in flight
  // for as long as a test needs, without guessing how long the other threads take.
  void HoldWalSyncs();
  // Lets every held sync go on, and stops holding new ones.
  void ReleaseWalSyncs();
  // Waits until `n` syncs have started to wait since HoldWalSyncs; false after `timeout`.
  bool WaitForHeldSyncs(int n, std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // From now on, every WAL Append fails without writing (until cleared).
  void FailWalAppends() { fail_append_.store(true); }
  void Clear() {
    fail_sync_.store(false);
    fail_append_.store(false);
  }
  uint64_t injected_failures() const { return injected_.load(); }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& opts,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& fname, const std::string& old_fname,
                                      const rocksdb::FileOptions& opts,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;

 private:
  friend class FaultWalFile;
  std::atomic<bool> fail_sync_{false};
  std::atomic<bool> fail_append_{false};
  std::atomic<bool> drop_unsynced_{false};
  std::atomic<uint64_t> injected_{0};
  std::atomic<int64_t> sync_delay_ms_{0};
  std::mutex hold_mu_;
  std::condition_variable hold_cv_;
  bool holding_ = false;
  int held_ = 0;  // syncs that started to wait since HoldWalSyncs
};

// An Env over a FaultInjectionFs, ready for RocksDbOptions::env.
inline std::shared_ptr<rocksdb::Env> MakeFaultEnv(const std::shared_ptr<FaultInjectionFs>& fs) {
  return std::shared_ptr<rocksdb::Env>(rocksdb::NewCompositeEnv(fs));
}

}  // namespace roster::storage::testing
