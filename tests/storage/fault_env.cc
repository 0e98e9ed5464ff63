#include "tests/storage/fault_env.h"

#include <thread>

namespace roster::storage::testing {

namespace {
bool IsWal(const std::string& fname) {
  return fname.size() > 4 && fname.compare(fname.size() - 4, 4, ".log") == 0;
}
}  // namespace

class FaultWalFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultWalFile(std::unique_ptr<rocksdb::FSWritableFile> file, FaultInjectionFs* fs)
      : rocksdb::FSWritableFileOwnerWrapper(std::move(file)), fs_(fs) {
    // A reopened file starts with bytes that were synced (or recovered) before.
    synced_size_ = target()->GetFileSize(rocksdb::IOOptions(), nullptr);
  }

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (fs_->fail_append_.load()) return Inject("append");
    return target()->Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo& info,
                           rocksdb::IODebugContext* dbg) override {
    if (fs_->fail_append_.load()) return Inject("append");
    return target()->Append(data, options, info, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return SyncWith(options, dbg, false);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* dbg) override {
    return SyncWith(options, dbg, true);
  }
  rocksdb::IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override {
    if (fs_->fail_sync_.load()) return Inject("range sync");
    return target()->RangeSync(offset, nbytes, options, dbg);
  }

 private:
  rocksdb::IOStatus SyncWith(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg,
                             bool full) {
    {
      std::unique_lock lock(fs_->hold_mu_);
      if (fs_->holding_) {
        ++fs_->held_;
        fs_->hold_cv_.notify_all();
        fs_->hold_cv_.wait(lock, [&] { return !fs_->holding_; });
      }
    }
    if (int64_t ms = fs_->sync_delay_ms_.load(); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    if (fs_->fail_sync_.load()) {
      if (fs_->drop_unsynced_.load()) {
        target()->Truncate(synced_size_, options, dbg).PermitUncheckedError();
      }
      return Inject("sync");
    }
    rocksdb::IOStatus s = full ? target()->Fsync(options, dbg) : target()->Sync(options, dbg);
    if (s.ok()) synced_size_ = target()->GetFileSize(options, dbg);
    return s;
  }
  rocksdb::IOStatus Inject(const char* what) {
    fs_->injected_.fetch_add(1);
    return rocksdb::IOStatus::IOError(std::string("injected WAL ") + what + " failure");
  }

  FaultInjectionFs* fs_;
  uint64_t synced_size_ = 0;
};

void FaultInjectionFs::HoldWalSyncs() {
  std::lock_guard lock(hold_mu_);
  holding_ = true;
  held_ = 0;
}

void FaultInjectionFs::ReleaseWalSyncs() {
  std::lock_guard lock(hold_mu_);
  holding_ = false;
  hold_cv_.notify_all();
}

bool FaultInjectionFs::WaitForHeldSyncs(int n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(hold_mu_);
  return hold_cv_.wait_for(lock, timeout, [&] { return held_ >= n; });
}

rocksdb::IOStatus FaultInjectionFs::NewWritableFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->NewWritableFile(fname, opts, result, dbg);
  if (s.ok() && IsWal(fname)) *result = std::make_unique<FaultWalFile>(std::move(*result), this);
  return s;
}

rocksdb::IOStatus FaultInjectionFs::ReopenWritableFile(
    const std::string& fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->ReopenWritableFile(fname, opts, result, dbg);
  if (s.ok() && IsWal(fname)) *result = std::make_unique<FaultWalFile>(std::move(*result), this);
  return s;
}

rocksdb::IOStatus FaultInjectionFs::ReuseWritableFile(
    const std::string& fname, const std::string& old_fname, const rocksdb::FileOptions& opts,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* dbg) {
  rocksdb::IOStatus s = target()->ReuseWritableFile(fname, old_fname, opts, result, dbg);
  if (s.ok() && IsWal(fname)) *result = std::make_unique<FaultWalFile>(std::move(*result), this);
  return s;
}

}  // namespace roster::storage::testing
