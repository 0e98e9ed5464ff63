#include "gateway/json_body.h"

#include <boost/json/stream_parser.hpp>

namespace roster::gateway {

Result<boost::json::object> ParseJsonObject(std::string_view body, const JsonLimits& limits) {
  if (body.empty()) {
    return Error(ErrorCode::kMalformedJson, "request body is empty; expected a JSON object");
  }
  boost::json::parse_options options;
  options.max_depth = limits.max_depth;
  boost::json::stream_parser parser(boost::json::storage_ptr(), options);
  boost::system::error_code ec;
  size_t consumed = parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    return Error(ErrorCode::kMalformedJson, "request body is not valid JSON (at byte " +
                                                std::to_string(consumed) + ": " + ec.message() +
                                                ")");
  }
  boost::json::value value = parser.release();
  if (!value.is_object()) {
    return Error(ErrorCode::kInvalidField, "request body must be a JSON object");
  }
  return std::move(value.as_object());
}

JsonReader::JsonReader(const boost::json::object& object, JsonLimits limits)
    : JsonReader(object, limits, "", std::make_shared<State>()) {}

JsonReader::JsonReader(const boost::json::object& object, JsonLimits limits, std::string prefix,
                       std::shared_ptr<State> state)
    : object_(&object), limits_(limits), prefix_(std::move(prefix)), state_(std::move(state)) {}

void JsonReader::Fail(Status status) {
  if (state_->status.ok() && !status.ok()) state_->status = std::move(status);
}

std::string JsonReader::FieldName(std::string_view name) const {
  std::string full = prefix_;
  if (!full.empty()) full += '.';
  full += name;
  return full;
}

void JsonReader::FieldError(std::string_view name, std::string_view what) {
  Fail(Error(ErrorCode::kInvalidField, "field `" + FieldName(name) + "` " + std::string(what)));
}

const boost::json::value* JsonReader::Find(std::string_view name) {
  read_.emplace(name);
  const boost::json::value* v = object_->if_contains(name);
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

const boost::json::value* JsonReader::Raw(std::string_view name) { return Find(name); }

bool JsonReader::CheckString(std::string_view name, const boost::json::value& v,
                             std::string* out) {
  if (!v.is_string()) {
    FieldError(name, "must be a string");
    return false;
  }
  const boost::json::string& s = v.get_string();
  if (s.size() > limits_.max_string_bytes) {
    FieldError(name, "is longer than " + std::to_string(limits_.max_string_bytes) + " bytes");
    return false;
  }
  out->assign(s.data(), s.size());
  return true;
}

std::optional<std::string> JsonReader::OptionalString(std::string_view name) {
  const boost::json::value* v = Find(name);
  if (v == nullptr) return std::nullopt;
  std::string out;
  if (!CheckString(name, *v, &out)) return std::nullopt;
  return out;
}

std::string JsonReader::String(std::string_view name) {
  const boost::json::value* v = Find(name);
  if (v == nullptr) {
    FieldError(name, "is required");
    return {};
  }
  std::string out;
  CheckString(name, *v, &out);
  return out;
}

namespace {
std::string ListAllowed(const std::vector<std::string_view>& allowed) {
  std::string out;
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) out += i + 1 == allowed.size() ? " or " : ", ";
    out += allowed[i];
  }
  return out;
}
}  // namespace

std::optional<std::string> JsonReader::OptionalEnum(std::string_view name,
                                                    const std::vector<std::string_view>& allowed) {
  std::optional<std::string> s = OptionalString(name);
  if (!s) return std::nullopt;
  for (std::string_view a : allowed) {
    if (*s == a) return s;
  }
  FieldError(name, "must be " + ListAllowed(allowed));
  return std::nullopt;
}

std::string JsonReader::Enum(std::string_view name, const std::vector<std::string_view>& allowed) {
  if (Find(name) == nullptr) {
    FieldError(name, "is required");
    return {};
  }
  return OptionalEnum(name, allowed).value_or("");
}

std::optional<bool> JsonReader::OptionalBool(std::string_view name) {
  const boost::json::value* v = Find(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) {
    FieldError(name, "must be true or false");
    return std::nullopt;
  }
  return v->get_bool();
}

bool JsonReader::Bool(std::string_view name) {
  if (Find(name) == nullptr) {
    FieldError(name, "is required");
    return false;
  }
  return OptionalBool(name).value_or(false);
}

std::optional<int64_t> JsonReader::OptionalInt(std::string_view name, int64_t min, int64_t max) {
  const boost::json::value* v = Find(name);
  if (v == nullptr) return std::nullopt;
  int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64()) {
    FieldError(name, "is out of range");
    return std::nullopt;
  } else {
    FieldError(name, "must be an integer");
    return std::nullopt;
  }
  if (n < min || n > max) {
    FieldError(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

int64_t JsonReader::Int(std::string_view name, int64_t min, int64_t max) {
  if (Find(name) == nullptr) {
    FieldError(name, "is required");
    return 0;
  }
  return OptionalInt(name, min, max).value_or(0);
}

std::optional<std::vector<std::string>> JsonReader::OptionalStringArray(std::string_view name) {
  const boost::json::value* v = Find(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_array()) {
    FieldError(name, "must be an array of strings");
    return std::nullopt;
  }
  const boost::json::array& a = v->get_array();
  if (a.size() > limits_.max_array_items) {
    FieldError(name, "has more than " + std::to_string(limits_.max_array_items) + " items");
    return std::nullopt;
  }
  std::vector<std::string> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    std::string item;
    std::string item_name = std::string(name) + "[" + std::to_string(i) + "]";
    if (!CheckString(item_name, a[i], &item)) return std::nullopt;
    out.push_back(std::move(item));
  }
  return out;
}

std::vector<std::string> JsonReader::StringArray(std::string_view name) {
  if (Find(name) == nullptr) {
    FieldError(name, "is required");
    return {};
  }
  return OptionalStringArray(name).value_or(std::vector<std::string>{});
}

std::optional<JsonReader> JsonReader::OptionalObject(std::string_view name) {
  const boost::json::value* v = Find(name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) {
    FieldError(name, "must be an object");
    return std::nullopt;
  }
  return JsonReader(v->get_object(), limits_, FieldName(name), state_);
}

JsonReader JsonReader::Object(std::string_view name) {
  static const boost::json::object kEmpty;
  const boost::json::value* v = Find(name);
  if (v == nullptr) {
    FieldError(name, "is required");
    return JsonReader(kEmpty, limits_, FieldName(name), state_);
  }
  std::optional<JsonReader> r = OptionalObject(name);
  if (!r) return JsonReader(kEmpty, limits_, FieldName(name), state_);
  return std::move(*r);
}

void JsonReader::RejectUnknownFields() {
  for (const auto& member : *object_) {
    std::string_view key(member.key().data(), member.key().size());
    if (read_.find(key) == read_.end()) {
      FieldError(key, "is not a known field");
      return;
    }
  }
}

}  // namespace roster::gateway
