#include "events/json.h"

#include <boost/json/array.hpp>
#include <boost/json/string.hpp>

namespace roster::events {
namespace {

boost::json::array ToArray(const StringList& list) {
  boost::json::array a;
  a.reserve(list.size());
  for (const auto& s : list) a.emplace_back(s);
  return a;
}

bool EndsWithAt(std::string_view name) {
  return name.size() > 3 && name.substr(name.size() - 3) == "_at";
}

class JsonWriter {
 public:
  explicit JsonWriter(boost::json::object& out) : out_(out) {}

  // Field names are unique within an event, so emplace (no lookup-then-assign).
  void operator()(std::string_view name, const std::string& v) { out_.emplace(name, v); }
  void operator()(std::string_view name, const Bytes& v) { out_.emplace(name, ToHex(v.data)); }
  void operator()(std::string_view name, const int64_t& v) {
    if (EndsWithAt(name)) {
      out_.emplace(name, FormatRfc3339(v));
    } else {
      out_.emplace(name, v);
    }
  }
  void operator()(std::string_view name, const uint64_t& v) { out_.emplace(name, v); }
  void operator()(std::string_view name, const uint32_t& v) { out_.emplace(name, v); }
  void operator()(std::string_view name, const bool& v) { out_.emplace(name, v); }
  void operator()(std::string_view name, const StringList& v) { out_.emplace(name, ToArray(v)); }
  void operator()(std::string_view name, const AccessMap& v) {
    boost::json::object o;
    o.reserve(v.size());
    for (const auto& [module, level] : v) o.emplace(module, level);
    out_.emplace(name, std::move(o));
  }
  void operator()(std::string_view name, const Scope& v) {
    out_.emplace(name, boost::json::object{{"markets", ToArray(v.markets)},
                                           {"sets", ToArray(v.sets)},
                                           {"groups", ToArray(v.groups)}});
  }

 private:
  boost::json::object& out_;
};

// How many fields T's visitor lists, counted once: objects are sized up front rather
// than rehashed as they grow.
template <class T>
size_t FieldCount() {
  static const size_t n = [] {
    size_t count = 0;
    auto counter = [&count](std::string_view, const auto&) { ++count; };
    T{}.Fields(counter);
    return count;
  }();
  return n;
}

}  // namespace

boost::json::object EventToJson(const Event& event) {
  boost::json::object out;
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        out.reserve(FieldCount<T>());
        JsonWriter w(out);
        const_cast<T&>(v).Fields(w);  // Fields() only reads here
      },
      event);
  return out;
}

boost::json::object RecordedToJson(const RecordedEvent& r) {
  const Envelope& e = r.envelope;
  boost::json::object out;
  out.reserve(12);
  out["position"] = e.position;
  out["stream"] = e.stream;
  out["version"] = e.version;
  out["type"] = TypeName(e.type);
  out["recorded_at"] = FormatRfc3339(e.recorded_at);
  out["actor"] = e.actor;
  out["correlation_id"] = e.correlation_id;
  out["causation_id"] = e.causation_id;
  if (e.idempotency_key.empty()) {
    out["idempotency_key"] = nullptr;
  } else {
    out["idempotency_key"] = e.idempotency_key;
  }
  out["payload"] = EventToJson(r.event);
  out["prev_hash"] = ToHex(e.prev_hash);
  out["hash"] = ToHex(e.hash);
  return out;
}

}  // namespace roster::events
