#include "commands/result_codec.h"

namespace roster::commands {
namespace {

constexpr uint8_t kFormatVersion = 1;

class Writer {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void Str(std::string_view s) {
    Varint(s.size());
    out_.append(s);
  }
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    *v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      auto b = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      *v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }
  bool Str(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size()) return false;
    s->assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool Byte(uint8_t* b) {
    if (in_.empty()) return false;
    *b = static_cast<uint8_t>(in_.front());
    in_.remove_prefix(1);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string EncodeResultPayload(const CommandResult& r) {
  Writer w;
  w.Byte(kFormatVersion);
  w.Str(r.stream);
  w.Varint(r.events.size());
  for (const auto& e : r.events) w.Varint(static_cast<uint64_t>(e.type));
  w.Str(r.account_id);
  w.Str(r.workspace_id);
  w.Str(r.invitation_id);
  w.Str(r.token);
  w.Varint(static_cast<uint64_t>(r.expires_at));
  w.Str(r.role);
  w.Str(r.partner_id);
  w.Str(r.status);
  w.Byte(r.joined ? 1 : 0);
  w.Varint(r.subjects_erased);
  return w.Take();
}

Status DecodeResultPayload(std::string_view bytes, CommandResult* out) {
  Reader r(bytes);
  auto bad = [] { return Error(ErrorCode::kCorruption, "idempotency payload: undecodable"); };
  uint8_t version = 0;
  if (!r.Byte(&version) || version != kFormatVersion) return bad();
  CommandResult res;
  uint64_t n = 0;
  if (!r.Str(&res.stream) || !r.Varint(&n) || n > 4096) return bad();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t type;
    if (!r.Varint(&type) || type > 0xffff) return bad();
    res.events.push_back({0, static_cast<events::EventType>(type)});
  }
  uint64_t expires = 0, erased = 0;
  uint8_t joined = 0;
  if (!r.Str(&res.account_id) || !r.Str(&res.workspace_id) || !r.Str(&res.invitation_id) ||
      !r.Str(&res.token) || !r.Varint(&expires) || !r.Str(&res.role) ||
      !r.Str(&res.partner_id) || !r.Str(&res.status) || !r.Byte(&joined) ||
      !r.Varint(&erased) || !r.done()) {
    return bad();
  }
  res.expires_at = static_cast<Micros>(expires);
  res.joined = joined != 0;
  res.subjects_erased = static_cast<uint32_t>(erased);
  *out = std::move(res);
  return Status::Ok();
}

}  // namespace roster::commands
