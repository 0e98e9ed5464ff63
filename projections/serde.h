// A small binary archive for projection snapshots and digests.
//
// Integers are LEB128 varints (signed ones zig-zag encoded), strings are a length and
// bytes. The Reader never trusts its input: every read is bounds-checked, a failure is
// sticky (ok() turns false and later reads return zero values), and element counts are
// checked against the bytes left, so a corrupt snapshot can neither crash nor allocate
// without bound. Callers check ok() once at the end.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "events/event_types.h"

namespace roster::projections {

class Writer {
 public:
  static constexpr size_t kPaddedVarint = 10;

  void U64(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<char>(v));
  }
  void U32(uint32_t v) { U64(v); }
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void I64(int64_t v) { U64((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Str(std::string_view s) {
    U64(s.size());
    out_.append(s.data(), s.size());
  }
  void Strings(const std::vector<std::string>& v) {
    U64(v.size());
    for (const auto& s : v) Str(s);
  }
  void Access(const events::AccessMap& m) {
    U64(m.size());
    for (const auto& [k, v] : m) {
      Str(k);
      Str(v);
    }
  }
  void Scope(const events::Scope& s) {
    Strings(s.markets);
    Strings(s.sets);
    Strings(s.groups);
  }
  // A sorted list of positions, delta-encoded.
  void SortedU64s(const std::vector<uint64_t>& v) {
    U64(v.size());
    uint64_t prev = 0;
    for (uint64_t x : v) {
      U64(x - prev);
      prev = x;
    }
  }

  // A length-prefixed block written in place (no second buffer, no copy): BeginLength()
  // leaves room for the length, EndLength() fills it in as a varint padded to 10 bytes,
  // which Reader::U64 and Reader::View read like any other.
  size_t BeginLength() {
    size_t at = out_.size();
    out_.append(kPaddedVarint, '\0');
    return at;
  }
  void EndLength(size_t at) {
    uint64_t n = out_.size() - at - kPaddedVarint;
    for (size_t i = 0; i + 1 < kPaddedVarint; ++i, n >>= 7) {
      out_[at + i] = static_cast<char>((n & 0x7f) | 0x80);
    }
    out_[at + kPaddedVarint - 1] = static_cast<char>(n & 0x7f);
  }
  void Reserve(size_t bytes) { out_.reserve(bytes); }

  std::string& bytes() { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  void Fail() { ok_ = false; }
  size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

  uint64_t U64() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!ok_ || pos_ >= in_.size()) {
        ok_ = false;
        return 0;
      }
      auto b = static_cast<uint8_t>(in_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok_ = false;
    return 0;
  }
  uint32_t U32() {
    uint64_t v = U64();
    if (v > UINT32_MAX) ok_ = false;
    return ok_ ? static_cast<uint32_t>(v) : 0;
  }
  uint8_t U8() {
    if (!ok_ || pos_ >= in_.size()) {
      ok_ = false;
      return 0;
    }
    return static_cast<uint8_t>(in_[pos_++]);
  }
  bool Bool() { return U8() != 0; }
  int64_t I64() {
    uint64_t z = U64();
    return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
  }
  // A count of elements each at least `min_bytes` long: fails when it cannot fit.
  size_t Count(size_t min_bytes = 1) {
    uint64_t n = U64();
    if (!ok_ || (min_bytes > 0 && n > remaining() / min_bytes)) {
      ok_ = false;
      return 0;
    }
    return static_cast<size_t>(n);
  }
  std::string Str() {
    size_t n = Count(1);
    if (!ok_) return {};
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  std::string_view View() {
    size_t n = Count(1);
    if (!ok_) return {};
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::vector<std::string> Strings() {
    std::vector<std::string> v(Count(1));
    for (auto& s : v) s = Str();
    return v;
  }
  events::AccessMap Access() {
    events::AccessMap m;
    size_t n = Count(2);
    for (size_t i = 0; i < n && ok_; ++i) {
      std::string k = Str();
      m[std::move(k)] = Str();
    }
    return m;
  }
  events::Scope Scope() {
    events::Scope s;
    s.markets = Strings();
    s.sets = Strings();
    s.groups = Strings();
    return s;
  }
  std::vector<uint64_t> SortedU64s() {
    std::vector<uint64_t> v(Count(1));
    uint64_t prev = 0;
    for (auto& x : v) {
      x = prev + U64();
      prev = x;
    }
    return v;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace roster::projections
