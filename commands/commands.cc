#include "commands/commands.h"

namespace roster::commands {

std::string Actor::ToString() const {
  switch (kind) {
    case Kind::kUser: return "user:" + user_id;
    case Kind::kService: return service_name.empty() ? "service" : "service:" + service_name;
    case Kind::kSystem: return "system";
  }
  return "system";
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Status ValidateEmail(std::string_view email, std::string_view field) {
  auto bad = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidEmail, std::string(field) + ": " + std::string(why));
  };
  if (email.empty()) return bad("an email address is required");
  if (email.size() > 254) return bad("longer than 254 bytes");
  for (char ch : email) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return bad("spaces and control characters are not allowed");
  }
  size_t at = email.find('@');
  if (at == std::string_view::npos) return bad("missing '@'");
  if (email.find('@', at + 1) != std::string_view::npos) return bad("more than one '@'");
  std::string_view local = email.substr(0, at);
  std::string_view domain = email.substr(at + 1);
  if (local.empty()) return bad("empty local part before '@'");
  if (local.size() > 64) return bad("local part longer than 64 bytes");
  if (domain.empty()) return bad("empty domain after '@'");
  if (domain.find('.') == std::string_view::npos) return bad("the domain must contain a dot");
  // Every dot-separated label is non-empty (no leading, trailing or doubled dots).
  size_t start = 0;
  while (start <= domain.size()) {
    size_t dot = domain.find('.', start);
    size_t end = dot == std::string_view::npos ? domain.size() : dot;
    if (end == start) return bad("empty label in the domain");
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return Status::Ok();
}

}  // namespace roster::commands
