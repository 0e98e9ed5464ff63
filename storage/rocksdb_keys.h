// The byte layout of every RocksDB record of the event log (docs/storage_keys.md is the
// prose version; keep both in step). Pure functions, no RocksDB header: used by
// rocksdb_store.cc, by tests that inspect or damage raw records, and by tools.
//
// Integers are fixed-width big-endian so that byte order equals numeric order.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.h"
#include "base/crypto.h"

namespace roster::storage::keys {

// Column family names. Never rename one: they are on disk.
inline constexpr char kEventsCf[] = "events";
inline constexpr char kStreamsCf[] = "streams";
inline constexpr char kStreamHeadsCf[] = "stream_heads";
inline constexpr char kIdempotencyCf[] = "idempotency";
inline constexpr char kVaultCf[] = "vault";
inline constexpr char kVaultIndexCf[] = "vault_index";
inline constexpr char kSnapshotsCf[] = "snapshots";
inline constexpr char kMetaCf[] = "meta";

// meta keys.
inline constexpr char kMetaFormatVersion[] = "format_version";  // value: BE uint32
inline constexpr char kMetaLedgerSecret[] = "ledger_secret";    // value: 32 random bytes
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kLedgerSecretBytes = 32;

// events value = hash (32 bytes) ‖ canonical envelope bytes.
inline constexpr size_t kHashBytes = 32;

inline void PutBigEndian64(uint64_t v, char* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

inline uint64_t GetBigEndian64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
  return v;
}

inline std::string BigEndian64(uint64_t v) {
  std::string out(8, '\0');
  PutBigEndian64(v, out.data());
  return out;
}

inline std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

inline std::optional<uint32_t> ParseBigEndian32(std::string_view in) {
  if (in.size() != 4) return std::nullopt;
  uint32_t v = 0;
  for (char c : in) v = (v << 8) | static_cast<unsigned char>(c);
  return v;
}

// events key: the position, 8 bytes big-endian.
inline std::string EventKey(uint64_t position) { return BigEndian64(position); }

inline std::optional<uint64_t> ParseEventKey(std::string_view key) {
  if (key.size() != 8) return std::nullopt;
  return GetBigEndian64(key.data());
}

// streams key: stream ‖ 0x00 ‖ version (8 bytes BE); value: position (8 bytes BE).
// Stream names never contain 0x00 (ValidateAppend), so a stream's entries are contiguous
// and sorted by version, and the prefix "stream ‖ 0x00" selects exactly one stream.
inline std::string StreamIndexPrefix(std::string_view stream) {
  std::string out;
  out.reserve(stream.size() + 9);
  out.append(stream);
  out.push_back('\0');
  return out;
}

inline std::string StreamIndexKey(std::string_view stream, uint64_t version) {
  std::string out = StreamIndexPrefix(stream);
  out.resize(out.size() + 8);
  PutBigEndian64(version, out.data() + out.size() - 8);
  return out;
}

struct StreamIndexEntry {
  std::string_view stream;
  uint64_t version = 0;
};

inline std::optional<StreamIndexEntry> ParseStreamIndexKey(std::string_view key) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') return std::nullopt;
  return StreamIndexEntry{key.substr(0, key.size() - 9),
                          GetBigEndian64(key.data() + key.size() - 8)};
}

// stream_heads key: stream; value: the stream's current version (8 bytes BE).

// idempotency key: the caller's key; value:
//   first_position (8 BE) ‖ last_position (8 BE) ‖ stream_version (8 BE) ‖
//   recorded_at (8 BE, two's complement) ‖ fingerprint length (4 BE) ‖ fingerprint ‖ payload
struct IdempotencyRecord {
  uint64_t first_position = 0;
  uint64_t last_position = 0;
  uint64_t stream_version = 0;
  Micros recorded_at = 0;
  std::string fingerprint;
  std::string payload;
};

inline std::string EncodeIdempotency(const IdempotencyRecord& r) {
  std::string out(36, '\0');
  PutBigEndian64(r.first_position, out.data());
  PutBigEndian64(r.last_position, out.data() + 8);
  PutBigEndian64(r.stream_version, out.data() + 16);
  PutBigEndian64(static_cast<uint64_t>(r.recorded_at), out.data() + 24);
  uint32_t n = static_cast<uint32_t>(r.fingerprint.size());
  for (int i = 3; i >= 0; --i) {
    out[32 + i] = static_cast<char>(n & 0xff);
    n >>= 8;
  }
  out += r.fingerprint;
  out += r.payload;
  return out;
}

inline std::optional<IdempotencyRecord> DecodeIdempotency(std::string_view in) {
  if (in.size() < 36) return std::nullopt;
  IdempotencyRecord r;
  r.first_position = GetBigEndian64(in.data());
  r.last_position = GetBigEndian64(in.data() + 8);
  r.stream_version = GetBigEndian64(in.data() + 16);
  r.recorded_at = static_cast<Micros>(GetBigEndian64(in.data() + 24));
  auto n = ParseBigEndian32(in.substr(32, 4));
  if (!n || *n > in.size() - 36) return std::nullopt;
  r.fingerprint.assign(in.substr(36, *n));
  r.payload.assign(in.substr(36 + *n));
  return r;
}

// vault key: subject ("sub_" + 32 hex digits); value: the email plaintext.
// vault_index key: email key (HMAC bytes); value: subject.
// snapshots key: name; value: position (8 BE) ‖ snapshot bytes. Legacy: read while no
// snapshot file exists (storage/snapshot_file.h), deleted when one is written.

}  // namespace roster::storage::keys
