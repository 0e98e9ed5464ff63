// Cryptographic primitives over OpenSSL 3 (EVP only; the deprecated SHA256_*/HMAC_* APIs
// break -Werror). Thread-safe: every call uses its own context.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace roster {

using Hash256 = std::array<uint8_t, 32>;

// SHA-256 of the concatenation a ‖ b (b may be empty).
Hash256 Sha256(std::string_view a, std::string_view b = {});

// HMAC-SHA256(key, message).
Hash256 HmacSha256(std::string_view key, std::string_view message);

// n bytes from OpenSSL's CSPRNG. Aborts if the CSPRNG fails (a fault, not a rejection).
std::string RandomBytes(size_t n);

// RandomBytes through a per-thread buffer refilled 4 KiB at a time, for the many small
// draws of ids, tokens and subjects: RAND_bytes costs a lock and a getpid() per call.
// Bytes handed out are wiped from the buffer; a forked child never reuses its parent's.
std::string BufferedRandomBytes(size_t n);

// Constant-time comparison of equal-length byte strings; false when lengths differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

std::string ToHex(std::string_view bytes);
inline std::string ToHex(const Hash256& h) {
  return ToHex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}
// Lower- or upper-case hex → bytes; false on odd length or a non-hex digit.
bool FromHex(std::string_view hex, std::string* out);

// RFC 4648 §5 base64url without padding, and back (false on a bad character).
std::string Base64UrlEncode(std::string_view bytes);
bool Base64UrlDecode(std::string_view text, std::string* out);

inline std::string_view AsBytes(const Hash256& h) {
  return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace roster
