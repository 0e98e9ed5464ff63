#include "storage/memory_store.h"

#include "events/codec.h"
#include "storage/chain.h"
#include "storage/verify.h"

namespace roster::storage {

MemoryEventStore::MemoryEventStore(const Clock* clock)
    : clock_(clock ? clock : &system_clock_), secret_(RandomBytes(32)) {}

MemoryEventStore::~MemoryEventStore() { Shutdown(); }

Result<AppendResult> MemoryEventStore::Append(AppendRequest request) {
  ROSTER_RETURN_IF_ERROR(ValidateAppend(request));
  std::unique_lock lock(mu_);
  if (shutdown_) return Error(ErrorCode::kUnavailable, "the event store is shut down");
  if (!request.idempotency_key.empty()) {
    auto it = idempotency_.find(request.idempotency_key);
    if (it != idempotency_.end()) {
      AppendResult r = it->second;
      r.deduplicated = true;
      return r;
    }
  }
  auto& positions = streams_[request.stream];
  Status st = CheckExpected(request.expected, request.stream, positions.size());
  if (!st.ok()) {
    if (positions.empty()) streams_.erase(request.stream);
    return st;
  }
  Micros now = clock_->Now();
  auto sealed = Seal(request, log_.size() + 1, positions.size() + 1, now, &head_hash_);
  AppendResult result;
  result.first_position = sealed.front().position;
  result.last_position = sealed.back().position;
  result.stream_version = sealed.back().version;
  result.recorded_at = now;
  for (auto& s : sealed) {
    positions.push_back(s.position);
    log_.push_back(Record{std::move(s.canonical), s.hash});
  }
  if (!request.idempotency_key.empty()) {
    AppendResult stored = result;
    stored.idempotency_fingerprint = request.idempotency_fingerprint;
    stored.idempotency_payload = request.idempotency_payload;
    idempotency_.emplace(request.idempotency_key, std::move(stored));
  }
  lock.unlock();
  head_cv_.notify_all();
  return result;
}

Result<std::optional<AppendResult>> MemoryEventStore::FindIdempotencyKey(
    std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = idempotency_.find(std::string(key));
  if (it == idempotency_.end()) return std::optional<AppendResult>();
  AppendResult r = it->second;
  r.deduplicated = true;
  return std::optional<AppendResult>(std::move(r));
}

Status MemoryEventStore::Scan(uint64_t from, uint64_t to, const EventVisitor& visit) const {
  return ScanOwned(from, to, [&](events::RecordedEvent&& event) { return visit(event); });
}

// Each event is decoded afresh from the copied record, so it is the consumer's to move.
Status MemoryEventStore::ScanOwned(uint64_t from, uint64_t to,
                                   const OwnedEventVisitor& visit) const {
  std::vector<Record> copy;
  {
    std::lock_guard lock(mu_);
    if (from == 0) from = 1;
    uint64_t last = to == 0 || to > log_.size() ? log_.size() : to;
    for (uint64_t p = from; p <= last; ++p) copy.push_back(log_[p - 1]);
  }
  for (const auto& rec : copy) {
    auto decoded = events::DecodeRecorded(rec.canonical, rec.hash);
    if (!decoded.ok()) return decoded.error();
    if (!visit(std::move(decoded).value())) break;
  }
  return Status::Ok();
}

Result<std::vector<events::RecordedEvent>> MemoryEventStore::ReadStream(
    const std::string& stream, uint64_t from_version, size_t max) const {
  std::vector<Record> copy;
  {
    std::lock_guard lock(mu_);
    auto it = streams_.find(stream);
    if (it != streams_.end()) {
      if (from_version == 0) from_version = 1;
      for (uint64_t v = from_version; v <= it->second.size() && copy.size() < max; ++v) {
        copy.push_back(log_[it->second[v - 1] - 1]);
      }
    }
  }
  std::vector<events::RecordedEvent> out;
  out.reserve(copy.size());
  for (const auto& rec : copy) {
    auto decoded = events::DecodeRecorded(rec.canonical, rec.hash);
    if (!decoded.ok()) return decoded.error();
    out.push_back(std::move(decoded).value());
  }
  return out;
}

Result<events::RecordedEvent> MemoryEventStore::Read(uint64_t position) const {
  Record rec;
  {
    std::lock_guard lock(mu_);
    if (position == 0 || position > log_.size()) {
      return Error(ErrorCode::kNotFound, "position " + std::to_string(position) + " is not in the log");
    }
    rec = log_[position - 1];
  }
  return events::DecodeRecorded(rec.canonical, rec.hash);
}

uint64_t MemoryEventStore::StreamVersion(const std::string& stream) const {
  std::lock_guard lock(mu_);
  auto it = streams_.find(stream);
  return it == streams_.end() ? 0 : it->second.size();
}

Head MemoryEventStore::GetHead() const {
  std::lock_guard lock(mu_);
  return Head{log_.size(), head_hash_};
}

VerifyReport MemoryEventStore::Verify() const {
  std::vector<Record> copy;
  {
    std::lock_guard lock(mu_);
    copy = log_;
  }
  ChainVerifier verifier;
  for (uint64_t p = 1; p <= copy.size(); ++p) {
    if (!verifier.Check(p, copy[p - 1].canonical, copy[p - 1].hash)) break;
  }
  return verifier.Report();
}

uint64_t MemoryEventStore::WaitForHead(uint64_t after, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  head_cv_.wait_for(lock, timeout, [&] { return shutdown_ || log_.size() > after; });
  return log_.size();
}

void MemoryEventStore::Shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  head_cv_.notify_all();
}

Status MemoryEventStore::PutSnapshot(const std::string& name, uint64_t position,
                                     std::string_view bytes) {
  std::lock_guard lock(mu_);
  snapshots_[name] = {position, std::string(bytes)};
  return Status::Ok();
}

std::optional<std::string> MemoryEventStore::GetSnapshot(const std::string& name,
                                                         uint64_t* position) const {
  std::lock_guard lock(mu_);
  auto it = snapshots_.find(name);
  if (it == snapshots_.end()) return std::nullopt;
  *position = it->second.first;
  return it->second.second;
}

void MemoryEventStore::CorruptForTest(uint64_t position, size_t byte_offset) {
  std::lock_guard lock(mu_);
  auto& c = log_.at(position - 1).canonical;
  c.at(byte_offset) = static_cast<char>(c.at(byte_offset) ^ 0x5a);
}

Result<std::string> MemoryEventStore::SubjectFor(const events::Bytes& email_key,
                                                 std::string_view email) {
  std::lock_guard lock(mu_);
  auto it = subjects_by_key_.find(email_key.data);
  if (it != subjects_by_key_.end()) return it->second;
  std::string subject = "sub_" + ToHex(BufferedRandomBytes(16));
  subjects_by_key_.emplace(email_key.data, subject);
  vault_.emplace(subject, std::string(email));
  return subject;
}

std::optional<std::string> MemoryEventStore::Lookup(std::string_view subject) const {
  std::lock_guard lock(mu_);
  auto it = vault_.find(std::string(subject));
  if (it == vault_.end()) return std::nullopt;
  return it->second;
}

Result<uint32_t> MemoryEventStore::Erase(const events::Bytes& email_key) {
  std::lock_guard lock(mu_);
  auto it = subjects_by_key_.find(email_key.data);
  if (it == subjects_by_key_.end()) return 0u;
  uint32_t removed = static_cast<uint32_t>(vault_.erase(it->second));
  subjects_by_key_.erase(it);
  return removed;
}

}  // namespace roster::storage
