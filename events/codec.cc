#include "events/codec.h"

#include <capnp/any.h>
#include <capnp/message.h>
#include <capnp/schema.h>
#include <capnp/serialize.h>
#include <kj/array.h>
#include <kj/exception.h>
#include <kj/io.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

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


static_assert(std::endian::native == std::endian::little,
              "the data section is read in place: Cap'n Proto is little-endian");

capnp::Text::Reader AsText(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }
capnp::Data::Reader AsData(const std::string& s) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
// Assigning (rather than constructing) keeps the target's capacity: decoding into a
// reused RecordedEvent then allocates nothing for values that fit.
void Assign(capnp::Text::Reader t, std::string* out) { out->assign(t.begin(), t.size()); }
void Assign(capnp::Data::Reader d, std::string* out) {
  out->assign(reinterpret_cast<const char*>(d.begin()), d.size());
}
void Assign(capnp::List<capnp::Text>::Reader list, StringList* out) {
  out->resize(list.size());
  for (unsigned i = 0; i < list.size(); ++i) Assign(list[i], &(*out)[i]);
}

// ---- per-type layout, derived once from the compiled schema through Fields() ----
//
// The dynamic API looks a field's type, offset and default up in the schema on every
// access; that was most of the decoding time. Here each type's Fields() visitor is run
// once against its schema to record where every field lives, and encoding/decoding then
// go straight to the data section offset or pointer index. Adding an event still needs
// no code here: the layout follows Fields() and events.capnp.

enum class SlotKind : uint8_t { kText, kData, kInt64, kUInt64, kUInt32, kBool, kTextList, kAccess, kScope };

struct Slot {
  SlotKind kind;
  uint32_t offset;  // data fields: byte offset (kBool: bit offset); pointers: pointer index
};

template <class V> constexpr SlotKind kKindOf = SlotKind::kText;  // std::string
template <> constexpr SlotKind kKindOf<Bytes> = SlotKind::kData;
template <> constexpr SlotKind kKindOf<int64_t> = SlotKind::kInt64;
template <> constexpr SlotKind kKindOf<uint64_t> = SlotKind::kUInt64;
template <> constexpr SlotKind kKindOf<uint32_t> = SlotKind::kUInt32;
template <> constexpr SlotKind kKindOf<bool> = SlotKind::kBool;
template <> constexpr SlotKind kKindOf<StringList> = SlotKind::kTextList;
template <> constexpr SlotKind kKindOf<AccessMap> = SlotKind::kAccess;
template <> constexpr SlotKind kKindOf<Scope> = SlotKind::kScope;

// Whether a schema type is what the C++ field kind reads and writes.
bool SchemaTypeFits(SlotKind kind, capnp::Type type) {
  using W = capnp::schema::Type::Which;
  switch (kind) {
    case SlotKind::kText: return type.which() == W::TEXT;
    case SlotKind::kData: return type.which() == W::DATA;
    case SlotKind::kInt64: return type.which() == W::INT64;
    case SlotKind::kUInt64: return type.which() == W::UINT64;
    case SlotKind::kUInt32: return type.which() == W::UINT32;
    case SlotKind::kBool: return type.which() == W::BOOL;
    case SlotKind::kTextList:
      return type.isList() && type.asList().getElementType().which() == W::TEXT;
    case SlotKind::kAccess:
      return type.isList() && type.asList().getElementType().isStruct() &&
             type.asList().getElementType().asStruct() ==
                 capnp::Schema::from<schema::ModuleAccess>();
    case SlotKind::kScope:
      return type.isStruct() && type.asStruct() == capnp::Schema::from<schema::Scope>();
  }
  return false;
}

// Byte offset = slot offset × value size (capnp counts offsets in units of the type).
uint32_t OffsetOf(SlotKind kind, uint32_t slot_offset) {
  switch (kind) {
    case SlotKind::kInt64:
    case SlotKind::kUInt64: return slot_offset * 8;
    case SlotKind::kUInt32: return slot_offset * 4;
    default: return slot_offset;  // kBool: bit offset; pointers: pointer index
  }
}

// Records the slot of each Fields() entry, checking it against the schema. A mismatch is
// a programming error in event_types.h or events.capnp (events_test catches it at once),
// so it stops the process rather than misreading the log.
class LayoutBuilder {
 public:
  LayoutBuilder(std::string_view type_name, capnp::StructSchema schema)
      : type_name_(type_name), fields_(schema.getFields()) {}

  template <class V>
  void operator()(std::string_view name, V&) {
    constexpr SlotKind kind = kKindOf<V>;
    if (slots_.size() >= fields_.size()) Die(name, "has no field in the schema");
    capnp::StructSchema::Field field = fields_[static_cast<unsigned>(slots_.size())];
    auto proto = field.getProto();
    if (!proto.isSlot() || proto.getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT) {
      Die(name, "is not a plain slot field");
    }
    if (std::string_view(proto.getName().cStr()) != CamelCase(name)) Die(name, "name differs");
    if (!SchemaTypeFits(kind, field.getType())) Die(name, "type differs from the schema");
    if (proto.getSlot().getHadExplicitDefault()) Die(name, "has an explicit default");
    slots_.push_back(Slot{kind, OffsetOf(kind, proto.getSlot().getOffset())});
  }

  std::vector<Slot> Take() {
    if (slots_.size() != fields_.size()) Die("", "Fields() misses schema fields");
    return std::move(slots_);
  }

 private:
  [[noreturn]] void Die(std::string_view field, const char* what) {
    std::fprintf(stderr, "events codec: %.*s.%.*s %s (event_types.h vs events.capnp)\n",
                 static_cast<int>(type_name_.size()), type_name_.data(),
                 static_cast<int>(field.size()), field.data(), what);
    std::abort();
  }

  std::string_view type_name_;
  capnp::StructSchema::FieldList fields_;
  std::vector<Slot> slots_;
};

template <class T>
const Slot* LayoutOf() {
  static const std::vector<Slot> layout = [] {
    LayoutBuilder builder(T::kName, capnp::Schema::from<typename SchemaOf<T>::type>());
    T{}.Fields(builder);
    return builder.Take();
  }();
  return layout.data();
}

// ---- writing fields through the visitor ----
//
// Each write is the call the dynamic API made for the same field, in the same order, so
// the allocation layout (and so the bytes) is unchanged; tests/events/golden_test.cc pins it.

class Writer {
 public:
  Writer(capnp::AnyStruct::Builder b, const Slot* slots)
      : data_(b.getDataSection()), pointers_(b.getPointerSection()), slot_(slots) {}

  void operator()(std::string_view, const std::string& v) { Pointer().setAs<capnp::Text>(AsText(v)); }
  void operator()(std::string_view, const Bytes& v) { Pointer().setAs<capnp::Data>(AsData(v.data)); }
  void operator()(std::string_view, const int64_t& v) { Store(v); }
  void operator()(std::string_view, const uint64_t& v) { Store(v); }
  void operator()(std::string_view, const uint32_t& v) { Store(v); }
  void operator()(std::string_view, const bool& v) {
    uint32_t bit = (slot_++)->offset;
    if (v) data_[bit / 8] |= static_cast<kj::byte>(1u << (bit % 8));
  }
  void operator()(std::string_view, const StringList& v) {
    auto field = Pointer();
    if (!v.empty()) SetList(field.initAs<capnp::List<capnp::Text>>(Size(v)), v);
  }
  void operator()(std::string_view, const AccessMap& v) {
    auto field = Pointer();
    if (v.empty()) return;
    auto list = field.initAs<capnp::List<schema::ModuleAccess>>(Size(v));
    unsigned i = 0;
    for (const auto& [module, level] : v) {
      auto entry = list[i++];
      entry.setModule(AsText(module));
      entry.setLevel(AsText(level));
    }
  }
  void operator()(std::string_view, const Scope& v) {
    auto field = Pointer();
    if (v.Unrestricted()) return;
    auto s = field.initAs<schema::Scope>();
    if (!v.markets.empty()) SetList(s.initMarkets(Size(v.markets)), v.markets);
    if (!v.sets.empty()) SetList(s.initSets(Size(v.sets)), v.sets);
    if (!v.groups.empty()) SetList(s.initGroups(Size(v.groups)), v.groups);
  }

 private:
  template <class C>
  static unsigned Size(const C& c) {
    return static_cast<unsigned>(c.size());
  }
  static void SetList(capnp::List<capnp::Text>::Builder list, const StringList& v) {
    for (unsigned i = 0; i < v.size(); ++i) list.set(i, AsText(v[i]));
  }
  capnp::AnyPointer::Builder Pointer() { return pointers_[(slot_++)->offset]; }
  template <class I>
  void Store(I v) {
    std::memcpy(data_.begin() + (slot_++)->offset, &v, sizeof v);
  }

  kj::ArrayPtr<kj::byte> data_;
  capnp::List<capnp::AnyPointer>::Builder pointers_;
  const Slot* slot_;
};

// ---- reading fields through the visitor ----
//
// A field beyond the struct's sections (written before the field existed) reads as its
// default, as the dynamic API did. Pointer reads validate the pointer and throw on
// garbage; the caller turns that into kCorruption.

class Reader {
 public:
  Reader(capnp::AnyStruct::Reader r, const Slot* slots)
      : data_(r.getDataSection()), pointers_(r.getPointerSection()), slot_(slots) {}

  void operator()(std::string_view, std::string& v) { Assign(Pointer().getAs<capnp::Text>(), &v); }
  void operator()(std::string_view, Bytes& v) { Assign(Pointer().getAs<capnp::Data>(), &v.data); }
  void operator()(std::string_view, int64_t& v) { v = Load<int64_t>(); }
  void operator()(std::string_view, uint64_t& v) { v = Load<uint64_t>(); }
  void operator()(std::string_view, uint32_t& v) { v = Load<uint32_t>(); }
  void operator()(std::string_view, bool& v) {
    uint32_t bit = (slot_++)->offset;
    v = bit / 8 < data_.size() && (data_[bit / 8] >> (bit % 8) & 1) != 0;
  }
  void operator()(std::string_view, StringList& v) {
    Assign(Pointer().getAs<capnp::List<capnp::Text>>(), &v);
  }
  void operator()(std::string_view, AccessMap& v) {
    v.clear();
    for (auto entry : Pointer().getAs<capnp::List<schema::ModuleAccess>>()) {
      auto module = entry.getModule();
      auto level = entry.getLevel();
      v.insert_or_assign(std::string(module.begin(), module.size()),
                         std::string(level.begin(), level.size()));
    }
  }
  void operator()(std::string_view, Scope& v) {
    auto s = Pointer().getAs<schema::Scope>();
    Assign(s.getMarkets(), &v.markets);
    Assign(s.getSets(), &v.sets);
    Assign(s.getGroups(), &v.groups);
  }

 private:
  capnp::AnyPointer::Reader Pointer() {
    uint32_t index = (slot_++)->offset;
    return index < pointers_.size() ? pointers_[index] : capnp::AnyPointer::Reader();
  }
  template <class I>
  I Load() {
    uint32_t offset = (slot_++)->offset;
    I v = 0;
    if (offset + sizeof v <= data_.size()) std::memcpy(&v, data_.begin() + offset, sizeof v);
    return v;
  }

  kj::ArrayPtr<const kj::byte> data_;
  capnp::List<capnp::AnyPointer>::Reader pointers_;
  const Slot* slot_;
};

// The flat-array serialization of `message` written straight into a string
// (capnp::writeMessage produces exactly the bytes of messageToFlatArray).
std::string Flatten(capnp::MessageBuilder& message) {
  auto segments = message.getSegmentsForOutput();
  std::string out(capnp::computeSerializedSizeInWords(segments) * sizeof(capnp::word), '\0');
  kj::ArrayOutputStream stream(kj::arrayPtr(reinterpret_cast<kj::byte*>(out.data()), out.size()));
  capnp::writeMessage(stream, segments);
  return out;
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

// Runs `read(message, base)` on the flat message in `bytes`; `base` is where the words
// that were read start (`bytes` itself, or an aligned copy of it). Decoding untrusted
// bytes is the one place where KJ may throw on business data; the exception ends here
// as a kCorruption status "undecodable <what>: ...". `what` names the message in errors
// ("envelope", "InviteSent payload"); `words_error` is the message for a size that is
// not whole words.
template <class Fn>
Status ReadMessage(std::string_view bytes, std::string_view what, const char* words_error,
                   Fn&& read) {
  if (bytes.size() % sizeof(capnp::word) != 0 || bytes.empty()) {
    return Error(ErrorCode::kCorruption, words_error);
  }
  kj::Array<capnp::word> storage;
  auto words = AlignedWords(bytes, &storage);
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&] {
    capnp::FlatArrayMessageReader message(words, Limits());
    if (message.getEnd() != words.end()) KJ_FAIL_REQUIRE("trailing bytes after the message");
    read(message, reinterpret_cast<const char*>(words.begin()));
  });
  KJ_IF_MAYBE(e, failure) {
    return Error(ErrorCode::kCorruption, std::string("undecodable ") + std::string(what) + ": " +
                                             e->getDescription().cStr());
  }
  return Status::Ok();
}

// Decodes the root of `message` as a T into *out, reusing *out when it already holds a T.
template <class T>
void DecodeAs(capnp::MessageReader& message, Event* out) {
  T* value = std::get_if<T>(out);
  if (value == nullptr) value = &out->emplace<T>();
  Reader reader(message.getRoot<capnp::AnyStruct>(), LayoutOf<T>());
  value->Fields(reader);
}

using DecodeFn = void (*)(capnp::MessageReader&, Event*);

struct TypeEntry {
  EventType type;
  std::string_view name;
  std::string payload_name;  // "<name> payload", for errors
  DecodeFn decode;
};

template <size_t... I>
std::array<TypeEntry, sizeof...(I)> BuildTable(std::index_sequence<I...>) {
  return {TypeEntry{std::variant_alternative_t<I, Event>::kType,
                    std::variant_alternative_t<I, Event>::kName,
                    std::string(std::variant_alternative_t<I, Event>::kName) + " payload",
                    &DecodeAs<std::variant_alternative_t<I, Event>>}...};
}

const auto& Table() {
  static const auto table = BuildTable(std::make_index_sequence<std::variant_size_v<Event>>());
  return table;
}

// Type numbers are < 256 (checked as the index is built), so a direct index.
const TypeEntry* TypeEntryFor(EventType type) {
  static const auto index = [] {
    std::array<const TypeEntry*, 256> idx{};
    for (const auto& e : Table()) idx.at(static_cast<uint16_t>(e.type)) = &e;
    return idx;
  }();
  auto n = static_cast<uint16_t>(type);
  return n < index.size() ? index[n] : nullptr;
}

Status UnknownType(EventType type) {
  return Error(ErrorCode::kCorruption,
               "unknown event type number " + std::to_string(static_cast<int>(type)));
}

void CopyEnvelope(const EnvelopeView& v, Envelope* env) {
  env->position = v.position;
  env->stream.assign(v.stream);
  env->version = v.version;
  env->type = v.type;
  env->recorded_at = v.recorded_at;
  env->actor.assign(v.actor);
  env->correlation_id.assign(v.correlation_id);
  env->causation_id.assign(v.causation_id);
  env->idempotency_key.assign(v.idempotency_key);
  env->payload.assign(v.payload);
  env->prev_hash = v.prev_hash;
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
        Writer writer(message.initRoot<typename SchemaOf<T>::type>(), LayoutOf<T>());
        const_cast<T&>(v).Fields(writer);  // Fields() only reads through a Writer
        return Flatten(message);
      },
      event);
}

Status DecodeEventInto(EventType type, std::string_view payload, Event* out) {
  const TypeEntry* entry = TypeEntryFor(type);
  if (entry == nullptr) return UnknownType(type);
  return ReadMessage(payload, entry->payload_name, "event payload is not a whole number of words",
                     [&](capnp::MessageReader& message, const char*) { entry->decode(message, out); });
}

Result<Event> DecodeEvent(EventType type, std::string_view payload) {
  Result<Event> result = Event{};  // decoded in place, returned by the one name (NRVO)
  Status s = DecodeEventInto(type, payload, &*result);
  if (!s.ok()) result = std::move(s);
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
  return Flatten(message);
}

Status ReadEnvelopeView(std::string_view canonical, EnvelopeView* out) {
  bool hash_ok = true;
  auto read = [&](capnp::MessageReader& message, const char* base) {
    // Blobs are located in the words read and mapped back to the same offsets in
    // `canonical`, so the views stay valid when an aligned copy was read.
    auto view = [&](auto blob) {
      const char* p = reinterpret_cast<const char*>(blob.begin());
      return std::string_view(canonical.data() + (p - base), blob.size());
    };
    auto r = message.getRoot<schema::Envelope>();
    out->position = r.getPosition();
    out->stream = view(r.getStream());
    out->version = r.getVersion();
    out->type = static_cast<EventType>(r.getType());
    out->recorded_at = r.getRecordedAt();
    out->actor = view(r.getActor());
    out->correlation_id = view(r.getCorrelationId());
    out->causation_id = view(r.getCausationId());
    out->idempotency_key = view(r.getIdempotencyKey());
    out->payload = view(r.getPayload());
    auto prev = r.getPrevHash();
    hash_ok = prev.size() == out->prev_hash.size();
    if (hash_ok) std::memcpy(out->prev_hash.data(), prev.begin(), prev.size());
  };
  ROSTER_RETURN_IF_ERROR(
      ReadMessage(canonical, "envelope", "envelope is not a whole number of words", read));
  if (!hash_ok) return Error(ErrorCode::kCorruption, "envelope prev_hash is not 32 bytes");
  return Status::Ok();
}

Status DecodeEnvelopeInto(std::string_view bytes, Envelope* out) {
  EnvelopeView view;
  ROSTER_RETURN_IF_ERROR(ReadEnvelopeView(bytes, &view));
  CopyEnvelope(view, out);
  return Status::Ok();
}

Result<Envelope> DecodeEnvelope(std::string_view bytes) {
  Result<Envelope> result = Envelope{};  // decoded in place, returned by the one name (NRVO)
  Status s = DecodeEnvelopeInto(bytes, &*result);
  if (!s.ok()) result = std::move(s);
  return result;
}

Status DecodeRecordedInto(std::string_view canonical, const Hash256& hash, RecordedEvent* out) {
  // The body is decoded where it lies inside `canonical` (a Data blob starts on a word
  // boundary of its message), so only the envelope's own copy of it is made.
  EnvelopeView view;
  ROSTER_RETURN_IF_ERROR(ReadEnvelopeView(canonical, &view));
  CopyEnvelope(view, &out->envelope);
  out->envelope.hash = hash;
  Status s = DecodeEventInto(view.type, view.payload, &out->event);
  if (!s.ok()) {
    return Error(ErrorCode::kCorruption,
                 "position " + std::to_string(view.position) + ": " + s.message());
  }
  return Status::Ok();
}

Result<RecordedEvent> DecodeRecorded(std::string_view canonical, const Hash256& hash) {
  // Decoded in place inside the Result and returned by the one name (NRVO), so the
  // dozen strings of a RecordedEvent are not moved once more on the way out.
  Result<RecordedEvent> result = RecordedEvent{};
  Status s = DecodeRecordedInto(canonical, hash, &*result);
  if (!s.ok()) result = std::move(s);
  return result;
}

}  // namespace roster::events
