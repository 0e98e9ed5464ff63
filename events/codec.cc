#include "events/codec.h"

#include <capnp/dynamic.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>

#include "events/events.capnp.h"

namespace roster::events {
namespace {

// ---- type number → capnp schema ----

template <class T>
struct SchemaOf;
#define ROSTER_SCHEMA(Name) \
  template <>               \
  struct SchemaOf<Name> {   \
    using type = schema::Name; \
  };
ROSTER_SCHEMA(AccountOpened)
ROSTER_SCHEMA(AccountMemberAdded)
ROSTER_SCHEMA(AccountMemberRoleChanged)
ROSTER_SCHEMA(AccountMemberRemoved)
ROSTER_SCHEMA(WorkspaceCreated)
ROSTER_SCHEMA(RoleDefined)
ROSTER_SCHEMA(RoleChanged)
ROSTER_SCHEMA(AccessChanged)
ROSTER_SCHEMA(ScopeChanged)
ROSTER_SCHEMA(MemberRemoved)
ROSTER_SCHEMA(InviteSent)
ROSTER_SCHEMA(InviteResent)
ROSTER_SCHEMA(InviteCancelled)
ROSTER_SCHEMA(InviteAccepted)
ROSTER_SCHEMA(InviteSuperseded)
ROSTER_SCHEMA(LinkCreated)
ROSTER_SCHEMA(LinkRoleChanged)
ROSTER_SCHEMA(LinkRegenerated)
ROSTER_SCHEMA(LinkDisabled)
ROSTER_SCHEMA(LinkJoined)
ROSTER_SCHEMA(PartnerInvited)
ROSTER_SCHEMA(PartnerAccepted)
ROSTER_SCHEMA(PartnerAccessChanged)
ROSTER_SCHEMA(PartnerSetsAssigned)
ROSTER_SCHEMA(PartnerSetsRevoked)
ROSTER_SCHEMA(PartnerSuspended)
ROSTER_SCHEMA(PartnerResumed)
ROSTER_SCHEMA(PartnerRevoked)
ROSTER_SCHEMA(SharedAccessGranted)
ROSTER_SCHEMA(SharedAccessRemoved)
ROSTER_SCHEMA(SharedAccessRetired)
ROSTER_SCHEMA(SubjectErased)
#undef ROSTER_SCHEMA

capnp::Text::Reader AsText(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }
capnp::Data::Reader AsData(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string FromText(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }
std::string FromData(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

// ---- writing fields through the visitor ----

class Writer {
 public:
  explicit Writer(capnp::DynamicStruct::Builder b) : b_(b), fields_(b.getSchema().getFields()) {}

  void operator()(std::string_view, const std::string& v) { b_.set(Next(), AsText(v)); }
  void operator()(std::string_view, const Bytes& v) { b_.set(Next(), AsData(v.data)); }
  void operator()(std::string_view, const int64_t& v) { b_.set(Next(), v); }
  void operator()(std::string_view, const uint64_t& v) { b_.set(Next(), v); }
  void operator()(std::string_view, const uint32_t& v) { b_.set(Next(), v); }
  void operator()(std::string_view, const bool& v) { b_.set(Next(), v); }
  void operator()(std::string_view, const StringList& v) {
    auto field = Next();
    if (v.empty()) return;
    SetList(b_.init(field, static_cast<unsigned>(v.size())).as<capnp::DynamicList>(), v);
  }
  void operator()(std::string_view, const AccessMap& v) {
    auto field = Next();
    if (v.empty()) return;
    auto list = b_.init(field, static_cast<unsigned>(v.size())).as<capnp::DynamicList>();
    unsigned i = 0;
    for (const auto& [module, level] : v) {
      auto entry = list[i++].as<capnp::DynamicStruct>();
      entry.set("module", AsText(module));
      entry.set("level", AsText(level));
    }
  }
  void operator()(std::string_view, const Scope& v) {
    auto field = Next();
    if (v.Unrestricted()) return;
    auto s = b_.init(field).as<capnp::DynamicStruct>();
    auto set = [&](const char* name, const StringList& l) {
      if (!l.empty()) SetList(s.init(name, static_cast<unsigned>(l.size())).as<capnp::DynamicList>(), l);
    };
    set("markets", v.markets);
    set("sets", v.sets);
    set("groups", v.groups);
  }

 private:
  static void SetList(capnp::DynamicList::Builder list, const StringList& v) {
    for (unsigned i = 0; i < v.size(); ++i) list.set(i, AsText(v[i]));
  }
  capnp::StructSchema::Field Next() { return fields_[index_++]; }

  capnp::DynamicStruct::Builder b_;
  capnp::StructSchema::FieldList fields_;
  unsigned index_ = 0;
};

// ---- reading fields through the visitor ----

class Reader {
 public:
  explicit Reader(capnp::DynamicStruct::Reader r) : r_(r), fields_(r.getSchema().getFields()) {}

  void operator()(std::string_view, std::string& v) { v = FromText(Get().as<capnp::Text>()); }
  void operator()(std::string_view, Bytes& v) { v.data = FromData(Get().as<capnp::Data>()); }
  void operator()(std::string_view, int64_t& v) { v = Get().as<int64_t>(); }
  void operator()(std::string_view, uint64_t& v) { v = Get().as<uint64_t>(); }
  void operator()(std::string_view, uint32_t& v) { v = Get().as<uint32_t>(); }
  void operator()(std::string_view, bool& v) { v = Get().as<bool>(); }
  void operator()(std::string_view, StringList& v) { v = ReadList(Get().as<capnp::DynamicList>()); }
  void operator()(std::string_view, AccessMap& v) {
    v.clear();
    for (auto entry : Get().as<capnp::DynamicList>()) {
      auto s = entry.as<capnp::DynamicStruct>();
      v[FromText(s.get("module").as<capnp::Text>())] = FromText(s.get("level").as<capnp::Text>());
    }
  }
  void operator()(std::string_view, Scope& v) {
    auto s = Get().as<capnp::DynamicStruct>();
    v.markets = ReadList(s.get("markets").as<capnp::DynamicList>());
    v.sets = ReadList(s.get("sets").as<capnp::DynamicList>());
    v.groups = ReadList(s.get("groups").as<capnp::DynamicList>());
  }

 private:
  static StringList ReadList(capnp::DynamicList::Reader list) {
    StringList out;
    out.reserve(list.size());
    for (auto item : list) out.push_back(FromText(item.as<capnp::Text>()));
    return out;
  }
  capnp::DynamicValue::Reader Get() { return r_.get(fields_[index_++]); }

  capnp::DynamicStruct::Reader r_;
  capnp::StructSchema::FieldList fields_;
  unsigned index_ = 0;
};

std::string ToString(kj::ArrayPtr<const capnp::word> words) {
  auto bytes = words.asBytes();
  return std::string(reinterpret_cast<const char*>(bytes.begin()), bytes.size());
}

// Cap'n Proto readers need word-aligned memory (BUILD_NOTES pitfall 6). Borrows the
// bytes when they are aligned, else copies them into `storage`.
kj::ArrayPtr<const capnp::word> AlignedWords(std::string_view bytes,
                                             kj::Array<capnp::word>* storage) {
  size_t n = bytes.size() / sizeof(capnp::word);
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignof(capnp::word) == 0) {
    return kj::arrayPtr(reinterpret_cast<const capnp::word*>(bytes.data()), n);
  }
  *storage = kj::heapArray<capnp::word>(n);
  std::memcpy(storage->begin(), bytes.data(), n * sizeof(capnp::word));
  return storage->asPtr();
}

// Limits on what a reader will traverse: an event is small; a hostile one must not
// make us walk gigabytes.
capnp::ReaderOptions Limits() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = 1 << 20;  // 8 MiB
  options.nestingLimit = 16;
  return options;
}

using DecodeFn = Result<Event> (*)(capnp::MessageReader&);

template <class T>
Result<Event> DecodeAs(capnp::MessageReader& message) {
  T value;
  auto root = message.getRoot<typename SchemaOf<T>::type>();
  Reader reader(capnp::toDynamic(root));
  value.Fields(reader);
  return Event(std::move(value));
}

struct TypeEntry {
  EventType type;
  std::string_view name;
  DecodeFn decode;
};

template <size_t... I>
std::array<TypeEntry, sizeof...(I)> BuildTable(std::index_sequence<I...>) {
  return {TypeEntry{std::variant_alternative_t<I, Event>::kType,
                    std::variant_alternative_t<I, Event>::kName,
                    &DecodeAs<std::variant_alternative_t<I, Event>>}...};
}

const auto& Table() {
  static const auto table = BuildTable(std::make_index_sequence<std::variant_size_v<Event>>());
  return table;
}

// Type numbers are < 128 (enforced in TypeEntryFor's table build), so a direct index.
const TypeEntry* TypeEntryFor(EventType type) {
  static const auto index = [] {
    std::array<const TypeEntry*, 256> idx{};
    for (const auto& e : Table()) idx[static_cast<uint16_t>(e.type)] = &e;
    return idx;
  }();
  auto n = static_cast<uint16_t>(type);
  return n < index.size() ? index[n] : nullptr;
}

}  // namespace

EventType TypeOf(const Event& e) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kType; }, e);
}

std::string_view TypeName(EventType type) {
  const TypeEntry* e = TypeEntryFor(type);
  return e ? e->name : std::string_view("Unknown");
}

std::string_view TypeName(const Event& e) {
  return std::visit([](const auto& v) { return std::decay_t<decltype(v)>::kName; }, e);
}

bool TypeFromName(std::string_view name, EventType* out) {
  for (const auto& e : Table()) {
    if (e.name == name) {
      *out = e.type;
      return true;
    }
  }
  return false;
}

const std::vector<EventType>& AllEventTypes() {
  static const auto all = [] {
    std::vector<EventType> v;
    for (const auto& e : Table()) v.push_back(e.type);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return all;
}

std::string CamelCase(std::string_view snake) {
  std::string out;
  out.reserve(snake.size());
  bool upper = false;
  for (char c : snake) {
    if (c == '_') {
      upper = true;
    } else {
      out += upper ? static_cast<char>(c - 'a' + 'A') : c;
      upper = false;
    }
  }
  return out;
}

std::string EncodeEvent(const Event& event) {
  return std::visit(
      [](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        capnp::MallocMessageBuilder message(64);
        auto root = message.initRoot<typename SchemaOf<T>::type>();
        Writer writer(capnp::toDynamic(root));
        const_cast<T&>(v).Fields(writer);  // Fields() only reads through a Writer
        return ToString(capnp::messageToFlatArray(message));
      },
      event);
}

Result<Event> DecodeEvent(EventType type, std::string_view payload) {
  const TypeEntry* entry = TypeEntryFor(type);
  if (entry == nullptr) {
    return Error(ErrorCode::kCorruption,
                 "unknown event type number " + std::to_string(static_cast<int>(type)));
  }
  if (payload.size() % sizeof(capnp::word) != 0 || payload.empty()) {
    return Error(ErrorCode::kCorruption, "event payload is not a whole number of words");
  }
  kj::Array<capnp::word> storage;
  auto words = AlignedWords(payload, &storage);
  Result<Event> result = Error(ErrorCode::kCorruption, "undecodable payload");
  // Decoding untrusted bytes is the one place where KJ may throw on business data;
  // the exception ends here as a status.
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader message(words, Limits());
    if (message.getEnd() != words.end()) {
      KJ_FAIL_REQUIRE("trailing bytes after the event message");
    }
    result = entry->decode(message);
  });
  KJ_IF_MAYBE(e, failure) {
    return Error(ErrorCode::kCorruption,
                 std::string("undecodable ") + std::string(entry->name) + " payload: " +
                     e->getDescription().cStr());
  }
  return result;
}

std::string EncodeEnvelope(const Envelope& env) {
  capnp::MallocMessageBuilder message(64 + env.payload.size() / sizeof(capnp::word));
  auto b = message.initRoot<schema::Envelope>();
  b.setPosition(env.position);
  b.setStream(AsText(env.stream));
  b.setVersion(env.version);
  b.setType(static_cast<uint16_t>(env.type));
  b.setRecordedAt(env.recorded_at);
  if (!env.actor.empty()) b.setActor(AsText(env.actor));
  if (!env.correlation_id.empty()) b.setCorrelationId(AsText(env.correlation_id));
  if (!env.causation_id.empty()) b.setCausationId(AsText(env.causation_id));
  if (!env.idempotency_key.empty()) b.setIdempotencyKey(AsText(env.idempotency_key));
  b.setPayload(AsData(env.payload));
  b.setPrevHash(capnp::Data::Reader(env.prev_hash.data(), env.prev_hash.size()));
  return ToString(capnp::messageToFlatArray(message));
}

Result<Envelope> DecodeEnvelope(std::string_view bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty()) {
    return Error(ErrorCode::kCorruption, "envelope is not a whole number of words");
  }
  kj::Array<capnp::word> storage;
  auto words = AlignedWords(bytes, &storage);
  Envelope env;
  bool bad_hash = false;
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader message(words, Limits());
    if (message.getEnd() != words.end()) KJ_FAIL_REQUIRE("trailing bytes after the envelope");
    auto r = message.getRoot<schema::Envelope>();
    env.position = r.getPosition();
    env.stream = FromText(r.getStream());
    env.version = r.getVersion();
    env.type = static_cast<EventType>(r.getType());
    env.recorded_at = r.getRecordedAt();
    env.actor = FromText(r.getActor());
    env.correlation_id = FromText(r.getCorrelationId());
    env.causation_id = FromText(r.getCausationId());
    env.idempotency_key = FromText(r.getIdempotencyKey());
    env.payload = FromData(r.getPayload());
    auto prev = r.getPrevHash();
    if (prev.size() != env.prev_hash.size()) {
      bad_hash = true;
    } else {
      std::memcpy(env.prev_hash.data(), prev.begin(), prev.size());
    }
  });
  KJ_IF_MAYBE(e, failure) {
    return Error(ErrorCode::kCorruption,
                 std::string("undecodable envelope: ") + e->getDescription().cStr());
  }
  if (bad_hash) return Error(ErrorCode::kCorruption, "envelope prev_hash is not 32 bytes");
  return env;
}

Result<RecordedEvent> DecodeRecorded(std::string_view canonical, const Hash256& hash) {
  auto env = DecodeEnvelope(canonical);
  if (!env.ok()) return env.error();
  auto event = DecodeEvent(env->type, env->payload);
  if (!event.ok()) {
    return Error(ErrorCode::kCorruption, "position " + std::to_string(env->position) + ": " +
                                             event.error().message());
  }
  RecordedEvent out{std::move(env).value(), std::move(event).value()};
  out.envelope.hash = hash;
  return out;
}

}  // namespace roster::events
