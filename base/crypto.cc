#include "base/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <memory>

namespace roster {
namespace {

[[noreturn]] void CryptoFault(const char* what) {
  std::fprintf(stderr, "fatal: OpenSSL %s failed\n", what);
  std::abort();
}

// Fetched once: EVP_sha256() hands out a legacy handle that OpenSSL 3 resolves again on
// every EVP_DigestInit_ex (a locked provider lookup with string compares), which cost ~40%
// of hashing a 320-byte envelope. The fetched method is never freed (process lifetime).
const EVP_MD* Sha256Md() {
  static const EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) CryptoFault("EVP_MD_fetch(SHA256)");
    return fetched;
  }();
  return md;
}

}  // namespace

Hash256 Sha256(std::string_view a, std::string_view b) {
  Hash256 out{};
  // EVP_MD_CTX is cheap to reuse; one per thread avoids an allocation per hash.
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                          &EVP_MD_CTX_free);
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), a.data(), a.size()) != 1 ||
      (!b.empty() && EVP_DigestUpdate(ctx.get(), b.data(), b.size()) != 1) ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1) {
    CryptoFault("SHA-256");
  }
  return out;
}

namespace {

// One HMAC context per thread, its digest set once. Fetching "HMAC" and loading the
// digest parameter (an EVP_MD_fetch inside) on every call cost more than the HMAC of a
// short message; the command handler computes two per invitation. Only the key changes
// between calls (EVP_MAC_init re-keys the context).
EVP_MAC_CTX* ThreadHmacContext() {
  static EVP_MAC* mac = [] {
    EVP_MAC* fetched = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (fetched == nullptr) CryptoFault("EVP_MAC_fetch(HMAC)");
    return fetched;  // process lifetime, like Sha256Md()
  }();
  thread_local std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx = [] {
    std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> made(EVP_MAC_CTX_new(mac),
                                                                   &EVP_MAC_CTX_free);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!made || EVP_MAC_CTX_set_params(made.get(), params) != 1) CryptoFault("HMAC context");
    return made;
  }();
  return ctx.get();
}

}  // namespace

Hash256 HmacSha256(std::string_view key, std::string_view message) {
  Hash256 out{};
  EVP_MAC_CTX* ctx = ThreadHmacContext();
  // A null key would make EVP_MAC_init reuse the previous call's key: never pass one.
  static const unsigned char kEmpty[1] = {0};
  const unsigned char* key_bytes =
      key.data() != nullptr ? reinterpret_cast<const unsigned char*>(key.data()) : kEmpty;
  size_t len = 0;
  if (EVP_MAC_init(ctx, key_bytes, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1) {
    CryptoFault("HMAC-SHA256");
  }
  return out;
}

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    CryptoFault("RAND_bytes");
  }
  return out;
}

namespace {
// Bumped in a forked child so it never reuses its parent's buffered bytes.
std::atomic<uint64_t> g_fork_generation{0};
void OnForkChild() { g_fork_generation.fetch_add(1); }
}  // namespace

// CSPRNG bytes drawn from a per-thread buffer refilled by RandomBytes 4 KiB at a time:
// RAND_bytes costs a getpid() system call per call (OpenSSL's fork check), which
// dominated id and token generation. A fork in the child bumps the generation so a child
// never reuses its parent's buffered bytes.
std::string BufferedRandomBytes(size_t n) {
  static const bool registered = [] { return ::pthread_atfork(nullptr, nullptr, &OnForkChild) == 0; }();
  (void)registered;
  constexpr size_t kRefill = 4096;
  thread_local std::string buffer;
  thread_local size_t used = 0;
  thread_local uint64_t generation = 0;
  uint64_t now = g_fork_generation.load(std::memory_order_relaxed);
  if (generation != now) {
    buffer.clear();
    used = 0;
    generation = now;
  }
  if (n > kRefill) return RandomBytes(n);
  if (buffer.size() - used < n) {
    // Wipe what was handed out before refilling (the bytes became ids and tokens).
    std::fill(buffer.begin(), buffer.end(), '\0');
    buffer = RandomBytes(kRefill);
    used = 0;
  }
  std::string out = buffer.substr(used, n);
  std::fill(buffer.begin() + static_cast<std::ptrdiff_t>(used),
            buffer.begin() + static_cast<std::ptrdiff_t>(used + n), '\0');
  used += n;
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[c >> 4];
    out[2 * i + 1] = kDigits[c & 0xf];
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

bool FromHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  std::string bytes(hex.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<char>((hi << 4) | lo);
  }
  *out = std::move(bytes);
  return true;
}

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (bytes.size() - i == 1) {
    uint32_t v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (bytes.size() - i == 2) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return false;
  std::string bytes;
  bytes.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  *out = std::move(bytes);
  return true;
}

}  // namespace roster
