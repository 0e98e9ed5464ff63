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

  void operator()(std::string_view name, const std::string& v) { out_[name] = v; }
  void operator()(std::string_view name, const Bytes& v) { out_[name] = ToHex(v.data); }
  void operator()(std::string_view name, const int64_t& v) {
    if (EndsWithAt(name)) {
      out_[name] = FormatRfc3339(v);
    } else {
      out_[name] = v;
    }
  }
  void operator()(std::string_view name, const uint64_t& v) { out_[name] = v; }
  void operator()(std::string_view name, const uint32_t& v) { out_[name] = v; }
  void operator()(std::string_view name, const bool& v) { out_[name] = v; }
  void operator()(std::string_view name, const StringList& v) { out_[name] = ToArray(v); }
  void operator()(std::string_view name, const AccessMap& v) {
    boost::json::object o;
    for (const auto& [module, level] : v) o[module] = level;
    out_[name] = std::move(o);
  }
  void operator()(std::string_view name, const Scope& v) {
    out_[name] = boost::json::object{
        {"markets", ToArray(v.markets)}, {"sets", ToArray(v.sets)}, {"groups", ToArray(v.groups)}};
  }

 private:
  boost::json::object& out_;
};

}  // namespace

boost::json::object EventToJson(const Event& event) {
  boost::json::object out;
  std::visit(
      [&](const auto& v) {
        JsonWriter w(out);
        const_cast<std::decay_t<decltype(v)>&>(v).Fields(w);  // Fields() only reads here
      },
      event);
  return out;
}

boost::json::object RecordedToJson(const RecordedEvent& r) {
  const Envelope& e = r.envelope;
  boost::json::object out;
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
