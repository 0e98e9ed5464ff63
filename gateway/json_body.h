// Request bodies: parse JSON, then read typed fields with errors that name the field.
//
//   auto body = ParseJsonObject(request.body);          // malformed_json / invalid_field
//   if (!body) return ProblemResponse(body.error());
//   JsonReader in(*body);
//   std::string email = in.String("email");
//   std::optional<std::string> role = in.OptionalString("role");
//   JsonReader owner = in.Object("owner");               // errors say "owner.user_id"
//   std::string owner_id = owner.String("user_id");
//   if (!in.ok()) return ProblemResponse(in.status());   // first error wins
//
// Every field error is kInvalidField (422) with a detail such as
// "field `role` must be a string". JSON null counts as absent for optional fields.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "base/status.h"

namespace roster::gateway {

struct JsonLimits {
  size_t max_string_bytes = 4096;  // per string value; ids and names are far shorter
  size_t max_array_items = 1000;   // API.md caps bulk inputs at 1000
  size_t max_depth = 32;           // nesting depth accepted by the parser
};

// Parses `body` as one JSON value that must be an object. Errors: kMalformedJson (400)
// for empty or malformed text (the detail gives the byte offset and the parser's reason),
// kInvalidField (422) when the value is not an object.
Result<boost::json::object> ParseJsonObject(std::string_view body, const JsonLimits& limits = {});

// Typed, first-error-wins access to the members of a JSON object. Accessors return a
// default value (empty string, false, 0, empty vector) after an error; check ok() once
// after reading every field. The reader borrows `object`, which must outlive it (and every
// sub-reader from Object()).
class JsonReader {
 public:
  explicit JsonReader(const boost::json::object& object, JsonLimits limits = {});

  bool ok() const { return state_->status.ok(); }
  const Status& status() const { return state_->status; }

  // Records an error of the handler's own (e.g. a value outside an enum), if none yet.
  void Fail(Status status);

  std::string String(std::string_view name);
  std::optional<std::string> OptionalString(std::string_view name);
  // A string that must be one of `allowed`; else invalid_field listing them.
  std::string Enum(std::string_view name, const std::vector<std::string_view>& allowed);
  std::optional<std::string> OptionalEnum(std::string_view name,
                                          const std::vector<std::string_view>& allowed);

  bool Bool(std::string_view name);
  std::optional<bool> OptionalBool(std::string_view name);

  // An integer (a JSON number without fraction or exponent overflow) within [min, max].
  int64_t Int(std::string_view name, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
  std::optional<int64_t> OptionalInt(std::string_view name, int64_t min = INT64_MIN,
                                     int64_t max = INT64_MAX);

  std::vector<std::string> StringArray(std::string_view name);
  std::optional<std::vector<std::string>> OptionalStringArray(std::string_view name);

  // A nested object; its errors name the field as "outer.inner". When the member is
  // missing or not an object, the error is recorded and an empty reader is returned.
  JsonReader Object(std::string_view name);
  // nullopt when absent or null.
  std::optional<JsonReader> OptionalObject(std::string_view name);

  // The raw member (nullptr when absent), for shapes the typed accessors don't cover
  // (e.g. `containers: "all" | [ids]`). Counts as read for RejectUnknownFields().
  const boost::json::value* Raw(std::string_view name);

  // Records invalid_field for the first member not read through this reader — for
  // handlers that want typos reported instead of ignored.
  void RejectUnknownFields();

  // "owner.user_id" for a field of a sub-reader at "owner".
  std::string FieldName(std::string_view name) const;

 private:
  struct State {
    Status status;
  };
  JsonReader(const boost::json::object& object, JsonLimits limits, std::string prefix,
             std::shared_ptr<State> state);

  // The member or nullptr (absent or null); marks it read.
  const boost::json::value* Find(std::string_view name);
  void FieldError(std::string_view name, std::string_view what);
  bool CheckString(std::string_view name, const boost::json::value& v, std::string* out);

  const boost::json::object* object_;
  JsonLimits limits_;
  std::string prefix_;
  std::shared_ptr<State> state_;  // shared with sub-readers: one first error
  std::set<std::string, std::less<>> read_;
};

}  // namespace roster::gateway
