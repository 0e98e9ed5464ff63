// Projection snapshots as files beside the log, not records in it.
//
// A snapshot of a large ledger is ~100 MiB. Written as a RocksDB value it went through the
// write-ahead log as one record, so every append queued behind it in RocksDB's write
// queue: a 100 MiB PutSnapshot took ~1 s and stalled appends for up to 0.54 s on the
// development VM. A file written with its own writeback touches neither the WAL nor the
// memtables.
//
// Layout of `<dir>/<name>.snap` (big-endian integers):
//   magic "RSNAP001" (8) ‖ position (8) ‖ size (8) ‖ SHA-256(position ‖ bytes) (32) ‖ bytes
// Written to `<name>.snap.tmp`, synced, renamed over the old file, and the directory
// synced: a crash leaves the old snapshot or the new one, never a mix. A file that fails
// its checks reads as "no snapshot" (the projector then replays from the start).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rocksdb {
class Env;
}

namespace roster::storage {

// A snapshot name is 1..64 characters of [A-Za-z0-9_-] (it becomes a file name).
Status ValidateSnapshotName(std::string_view name);

// Writes `bytes` as snapshot `name` at `position` into `dir` (which must exist), through
// `env` (so a test's fault-injecting Env sees it). Writeback is started every MiB, so the
// final sync does not queue 100 MiB in front of the WAL's syncs.
Status WriteSnapshotFile(rocksdb::Env* env, const std::string& dir, std::string_view name,
                         uint64_t position, std::string_view bytes);

// Deletes the `.snap.tmp` files a write cut short by a crash left in `dir` (best effort).
void RemoveUnfinishedSnapshotFiles(rocksdb::Env* env, const std::string& dir);

// The snapshot `name` in `dir`, or nullopt when there is no file. kCorruption when the
// file is there but fails its checks (magic, size, hash); *position is set on success.
Result<std::optional<std::string>> ReadSnapshotFile(rocksdb::Env* env, const std::string& dir,
                                                    std::string_view name, uint64_t* position);

}  // namespace roster::storage
