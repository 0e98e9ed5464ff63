#include "storage/snapshot_file.h"

#include <rocksdb/env.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "base/crypto.h"
#include "storage/rocksdb_keys.h"

namespace roster::storage {
namespace {

constexpr char kMagic[8] = {'R', 'S', 'N', 'A', 'P', '0', '0', '1'};
constexpr size_t kHeaderBytes = 8 + 8 + 8 + 32;
constexpr size_t kWritebackBytes = 1 << 20;

std::string PathOf(const std::string& dir, std::string_view name) {
  return dir + "/" + std::string(name) + ".snap";
}

Status FromIo(const rocksdb::Status& s, std::string_view what) {
  return Error(ErrorCode::kIoError, std::string(what) + ": " + s.ToString());
}

Hash256 Digest(uint64_t position, std::string_view bytes) {
  char be[8];
  keys::PutBigEndian64(position, be);
  // SHA-256(position ‖ bytes) without copying the bytes: hash the two parts as a ‖ b.
  return Sha256(std::string_view(be, 8), bytes);
}

}  // namespace

Status ValidateSnapshotName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '-';
            });
  if (ok) return Status::Ok();
  return Error(ErrorCode::kInvalidField, "snapshot name: 1..64 characters of [A-Za-z0-9_-]");
}

Status WriteSnapshotFile(rocksdb::Env* env, const std::string& dir, std::string_view name,
                         uint64_t position, std::string_view bytes) {
  ROSTER_RETURN_IF_ERROR(ValidateSnapshotName(name));
  const std::string path = PathOf(dir, name);
  const std::string tmp = path + ".tmp";
  char header[kHeaderBytes];
  std::memcpy(header, kMagic, 8);
  keys::PutBigEndian64(position, header + 8);
  keys::PutBigEndian64(bytes.size(), header + 16);
  Hash256 digest = Digest(position, bytes);
  std::memcpy(header + 24, digest.data(), digest.size());

  std::unique_ptr<rocksdb::WritableFile> file;
  rocksdb::EnvOptions eo;
  rocksdb::Status s = env->NewWritableFile(tmp, &file, eo);
  if (!s.ok()) return FromIo(s, "creating " + tmp);
  s = file->Append(rocksdb::Slice(header, kHeaderBytes));
  // Start writeback a MiB at a time: one sync of the whole file would put ~100 MiB in the
  // device's queue at once, ahead of the WAL syncs every acknowledged append waits for.
  uint64_t offset = kHeaderBytes;
  for (size_t at = 0; s.ok() && at < bytes.size(); at += kWritebackBytes) {
    size_t n = std::min(kWritebackBytes, bytes.size() - at);
    s = file->Append(rocksdb::Slice(bytes.data() + at, n));
    if (s.ok()) s = file->RangeSync(offset, n);
    offset += n;
  }
  if (s.ok()) s = file->Sync();
  rocksdb::Status closed = file->Close();
  if (s.ok()) s = closed;
  if (!s.ok()) {
    env->DeleteFile(tmp).PermitUncheckedError();
    return FromIo(s, "writing " + tmp);
  }
  s = env->RenameFile(tmp, path);
  if (!s.ok()) return FromIo(s, "renaming " + tmp);
  // The rename is durable only once the directory is.
  std::unique_ptr<rocksdb::Directory> d;
  s = env->NewDirectory(dir, &d);
  if (s.ok()) s = d->Fsync();
  if (!s.ok()) return FromIo(s, "syncing " + dir);
  return Status::Ok();
}

void RemoveUnfinishedSnapshotFiles(rocksdb::Env* env, const std::string& dir) {
  std::vector<std::string> names;
  if (!env->GetChildren(dir, &names).ok()) return;
  for (const std::string& name : names) {
    if (name.size() > 9 && name.ends_with(".snap.tmp")) {
      env->DeleteFile(dir + "/" + name).PermitUncheckedError();
    }
  }
}

Result<std::optional<std::string>> ReadSnapshotFile(rocksdb::Env* env, const std::string& dir,
                                                    std::string_view name, uint64_t* position) {
  ROSTER_RETURN_IF_ERROR(ValidateSnapshotName(name));
  const std::string path = PathOf(dir, name);
  if (env->FileExists(path).IsNotFound()) return std::optional<std::string>();
  uint64_t file_size = 0;
  rocksdb::Status s = env->GetFileSize(path, &file_size);
  if (!s.ok()) return FromIo(s, "reading " + path);
  auto damaged = [&](std::string_view why) {
    return Error(ErrorCode::kCorruption, "snapshot " + path + ": " + std::string(why));
  };
  if (file_size < kHeaderBytes) return damaged("shorter than its header");

  std::unique_ptr<rocksdb::SequentialFile> file;
  s = env->NewSequentialFile(path, &file, rocksdb::EnvOptions());
  if (!s.ok()) return FromIo(s, "opening " + path);
  char header[kHeaderBytes];
  rocksdb::Slice got;
  s = file->Read(kHeaderBytes, &got, header);
  if (!s.ok()) return FromIo(s, "reading " + path);
  if (got.size() != kHeaderBytes) return damaged("shorter than its header");
  if (std::memcmp(got.data(), kMagic, 8) != 0) return damaged("not a snapshot file");
  uint64_t at = keys::GetBigEndian64(got.data() + 8);
  uint64_t size = keys::GetBigEndian64(got.data() + 16);
  if (size != file_size - kHeaderBytes) return damaged("size does not match the file");
  Hash256 expected;
  std::memcpy(expected.data(), got.data() + 24, expected.size());

  std::string bytes(size, '\0');
  for (size_t done = 0; done < size;) {
    s = file->Read(size - done, &got, bytes.data() + done);
    if (!s.ok()) return FromIo(s, "reading " + path);
    if (got.empty()) return damaged("ends early");
    // Read may hand back a slice of its own buffer rather than fill ours.
    if (got.data() != bytes.data() + done) std::memmove(bytes.data() + done, got.data(), got.size());
    done += got.size();
  }
  if (Digest(at, bytes) != expected) return damaged("hash mismatch");
  *position = at;
  return std::optional<std::string>(std::move(bytes));
}

}  // namespace roster::storage
