#include <gtest/gtest.h>

#include <capnp/schema.h>

#include <boost/json/serialize.hpp>

#include <random>

#include "events/codec.h"
#include "events/events.capnp.h"
#include "events/json.h"
#include "tests/events/samples.h"

namespace roster::events {
namespace {

using testing::Samples;

TEST(Codec, EveryEventTypeHasASample) {
  std::set<EventType> seen;
  for (const auto& e : Samples()) seen.insert(TypeOf(e));
  EXPECT_EQ(seen.size(), std::variant_size_v<Event>);
  EXPECT_EQ(AllEventTypes().size(), std::variant_size_v<Event>);
}

TEST(Codec, EveryEventRoundTrips) {
  for (const auto& e : Samples()) {
    std::string bytes = EncodeEvent(e);
    auto back = DecodeEvent(TypeOf(e), bytes);
    ASSERT_TRUE(back.ok()) << TypeName(e) << ": " << back.error().ToString();
    EXPECT_EQ(*back, e) << TypeName(e);
  }
}

TEST(Codec, DefaultEventsRoundTrip) {
  // Empty strings, lists and scopes are the capnp defaults; they must come back equal.
  Event e = InviteSent{};
  auto back = DecodeEvent(EventType::kInviteSent, EncodeEvent(e));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, e);
}

// The visitor's field order must be the schema's ordinal order, with matching names.
struct NameCollector {
  std::vector<std::string> names;
  template <class T>
  void operator()(std::string_view name, T&) {
    names.push_back(CamelCase(name));
  }
};

template <class T, class S>
void ExpectFieldsMatchSchema() {
  T value;
  NameCollector c;
  value.Fields(c);
  auto fields = capnp::Schema::from<S>().getFields();
  ASSERT_EQ(fields.size(), c.names.size()) << T::kName;
  for (unsigned i = 0; i < fields.size(); ++i) {
    EXPECT_EQ(fields[i].getProto().getName().cStr(), c.names[i]) << T::kName << " field " << i;
    EXPECT_EQ(fields[i].getIndex(), i);
  }
}

TEST(Codec, VisitorFieldsMatchSchemaOrdinals) {
  ExpectFieldsMatchSchema<AccountOpened, schema::AccountOpened>();
  ExpectFieldsMatchSchema<AccountMemberAdded, schema::AccountMemberAdded>();
  ExpectFieldsMatchSchema<AccountMemberRoleChanged, schema::AccountMemberRoleChanged>();
  ExpectFieldsMatchSchema<AccountMemberRemoved, schema::AccountMemberRemoved>();
  ExpectFieldsMatchSchema<WorkspaceCreated, schema::WorkspaceCreated>();
  ExpectFieldsMatchSchema<RoleDefined, schema::RoleDefined>();
  ExpectFieldsMatchSchema<RoleChanged, schema::RoleChanged>();
  ExpectFieldsMatchSchema<AccessChanged, schema::AccessChanged>();
  ExpectFieldsMatchSchema<ScopeChanged, schema::ScopeChanged>();
  ExpectFieldsMatchSchema<MemberRemoved, schema::MemberRemoved>();
  ExpectFieldsMatchSchema<InviteSent, schema::InviteSent>();
  ExpectFieldsMatchSchema<InviteResent, schema::InviteResent>();
  ExpectFieldsMatchSchema<InviteCancelled, schema::InviteCancelled>();
  ExpectFieldsMatchSchema<InviteAccepted, schema::InviteAccepted>();
  ExpectFieldsMatchSchema<InviteSuperseded, schema::InviteSuperseded>();
  ExpectFieldsMatchSchema<LinkCreated, schema::LinkCreated>();
  ExpectFieldsMatchSchema<LinkRoleChanged, schema::LinkRoleChanged>();
  ExpectFieldsMatchSchema<LinkRegenerated, schema::LinkRegenerated>();
  ExpectFieldsMatchSchema<LinkDisabled, schema::LinkDisabled>();
  ExpectFieldsMatchSchema<LinkJoined, schema::LinkJoined>();
  ExpectFieldsMatchSchema<PartnerInvited, schema::PartnerInvited>();
  ExpectFieldsMatchSchema<PartnerAccepted, schema::PartnerAccepted>();
  ExpectFieldsMatchSchema<PartnerAccessChanged, schema::PartnerAccessChanged>();
  ExpectFieldsMatchSchema<PartnerSetsAssigned, schema::PartnerSetsAssigned>();
  ExpectFieldsMatchSchema<PartnerSetsRevoked, schema::PartnerSetsRevoked>();
  ExpectFieldsMatchSchema<PartnerSuspended, schema::PartnerSuspended>();
  ExpectFieldsMatchSchema<PartnerResumed, schema::PartnerResumed>();
  ExpectFieldsMatchSchema<PartnerRevoked, schema::PartnerRevoked>();
  ExpectFieldsMatchSchema<SharedAccessGranted, schema::SharedAccessGranted>();
  ExpectFieldsMatchSchema<SharedAccessRemoved, schema::SharedAccessRemoved>();
  ExpectFieldsMatchSchema<SharedAccessRetired, schema::SharedAccessRetired>();
  ExpectFieldsMatchSchema<SubjectErased, schema::SubjectErased>();
}

TEST(Codec, TypeNamesRoundTrip) {
  for (EventType t : AllEventTypes()) {
    EventType back;
    ASSERT_TRUE(TypeFromName(TypeName(t), &back));
    EXPECT_EQ(back, t);
  }
  EventType dummy;
  EXPECT_FALSE(TypeFromName("NoSuchEvent", &dummy));
  EXPECT_EQ(TypeName(static_cast<EventType>(999)), "Unknown");
}

TEST(Codec, EnvelopeRoundTripsAndHashesChain) {
  Envelope env = testing::SampleEnvelopes()[0];
  env.type = EventType::kInviteSent;
  env.payload = EncodeEvent(Samples()[10]);
  std::string bytes = EncodeEnvelope(env);
  EXPECT_EQ(bytes, EncodeEnvelope(env)) << "encoding must be deterministic";
  auto back = DecodeEnvelope(bytes);
  ASSERT_TRUE(back.ok()) << back.error().ToString();
  EXPECT_EQ(*back, env);
  Hash256 h = ChainHash(env.prev_hash, bytes);
  auto rec = DecodeRecorded(bytes, h);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->event, Samples()[10]);
  EXPECT_EQ(rec->envelope.hash, h);
  EXPECT_NE(ChainHash(Hash256{}, bytes), h);
}

TEST(Codec, GarbageIsAnErrorNeverACrash) {
  std::mt19937_64 rng(12345);
  std::string good = EncodeEnvelope(Envelope{.position = 1, .stream = "s", .version = 1,
                                             .payload = EncodeEvent(Samples()[0])});
  int rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (i % 3 == 0) bytes.resize(rng() % (bytes.size() + 1));
    auto env = DecodeEnvelope(bytes);
    if (!env.ok()) {
      EXPECT_EQ(env.error().code(), ErrorCode::kCorruption);
      ++rejected;
      continue;
    }
    auto body = DecodeEvent(env->type, env->payload);
    if (!body.ok()) {
      EXPECT_EQ(body.error().code(), ErrorCode::kCorruption);
    }
  }
  EXPECT_GT(rejected, 0);
  // Pure random bytes for every type.
  for (EventType t : AllEventTypes()) {
    for (int i = 0; i < 200; ++i) {
      std::string bytes(8 * (rng() % 16), '\0');
      for (auto& c : bytes) c = static_cast<char>(rng());
      auto r = DecodeEvent(t, bytes);
      if (!r.ok()) {
        EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
      }
    }
  }
  EXPECT_FALSE(DecodeEvent(static_cast<EventType>(999), good).ok());
  EXPECT_FALSE(DecodeEnvelope("").ok());
  EXPECT_FALSE(DecodeEnvelope("abc").ok());
}

// Bit flips in real bodies of every type reach deeper than random bytes: valid
// pointers to invalid places, lists of the wrong kind, truncated texts.
TEST(Codec, MutatedBodiesOfEveryTypeAreErrorsNeverCrashes) {
  std::mt19937_64 rng(777);
  Event reused;
  for (const auto& e : Samples()) {
    std::string good = EncodeEvent(e);
    for (int i = 0; i < 300; ++i) {
      std::string bytes = good;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
      auto r = DecodeEvent(TypeOf(e), bytes);
      if (!r.ok()) {
        EXPECT_EQ(r.error().code(), ErrorCode::kCorruption);
      }
      Status s = DecodeEventInto(TypeOf(e), bytes, &reused);
      EXPECT_EQ(s.ok(), r.ok()) << TypeName(e);
      if (s.ok()) {
        EXPECT_EQ(reused, *r) << TypeName(e);
      }
    }
  }
}

// Decoding into one reused value gives what a fresh decode gives, whatever the previous
// event's type and size, and from unaligned bytes too.
TEST(Codec, DecodeIntoAReusedValueEqualsAFreshDecode) {
  std::vector<std::string> canonical;
  std::vector<Event> events = Samples();
  for (size_t i = 0; i < events.size(); ++i) {
    Envelope env{.position = i + 1, .stream = "account-" + std::string(i * 3, 'a'),
                 .version = i + 1, .type = TypeOf(events[i])};
    if (i % 2) env.actor = "user:" + std::to_string(i);
    env.payload = EncodeEvent(events[i]);
    canonical.push_back(EncodeEnvelope(env));
  }
  RecordedEvent reused;
  std::string shifted;
  for (int round = 0; round < 2; ++round) {
    for (size_t k = 0; k < canonical.size(); ++k) {
      size_t i = round == 0 ? k : canonical.size() - 1 - k;  // big after small and back
      Hash256 h;
      h.fill(static_cast<uint8_t>(i));
      std::string_view bytes = canonical[i];
      if (i % 3 == 0) {  // one byte in: not word-aligned
        shifted = " " + canonical[i];
        bytes = std::string_view(shifted).substr(1);
      }
      ASSERT_TRUE(DecodeRecordedInto(bytes, h, &reused).ok()) << i;
      auto fresh = DecodeRecorded(canonical[i], h);
      ASSERT_TRUE(fresh.ok());
      EXPECT_EQ(reused.envelope, fresh->envelope) << i;
      EXPECT_EQ(reused.event, fresh->event) << i;
      EXPECT_EQ(reused.event, events[i]) << i;
    }
  }
}

// The view reads what DecodeEnvelope reads, pointing into the caller's bytes, also when
// those are not word-aligned (then an aligned copy is read and mapped back).
TEST(Codec, EnvelopeViewMatchesDecodeEnvelope) {
  for (const Envelope& env : testing::SampleEnvelopes()) {
    std::string canonical = EncodeEnvelope(env);
    std::string shifted = " " + canonical;
    for (std::string_view bytes : {std::string_view(canonical), std::string_view(shifted).substr(1)}) {
      EnvelopeView v;
      ASSERT_TRUE(ReadEnvelopeView(bytes, &v).ok());
      EXPECT_EQ(v.position, env.position);
      EXPECT_EQ(v.stream, env.stream);
      EXPECT_EQ(v.version, env.version);
      EXPECT_EQ(v.type, env.type);
      EXPECT_EQ(v.recorded_at, env.recorded_at);
      EXPECT_EQ(v.actor, env.actor);
      EXPECT_EQ(v.correlation_id, env.correlation_id);
      EXPECT_EQ(v.causation_id, env.causation_id);
      EXPECT_EQ(v.idempotency_key, env.idempotency_key);
      EXPECT_EQ(v.payload, env.payload);
      EXPECT_EQ(v.prev_hash, env.prev_hash);
      EXPECT_GE(v.payload.data(), bytes.data());
      EXPECT_LE(v.payload.data() + v.payload.size(), bytes.data() + bytes.size());
    }
  }
  std::mt19937_64 rng(99);
  std::string good = EncodeEnvelope(testing::SampleEnvelopes()[0]);
  for (int i = 0; i < 5000; ++i) {
    std::string bytes = good;
    for (int f = 0; f < 3; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    EnvelopeView v;
    Status s = ReadEnvelopeView(bytes, &v);
    EXPECT_EQ(s.ok(), DecodeEnvelope(bytes).ok());
    if (s.ok()) {  // every view lies inside the input
      for (std::string_view f : {v.stream, v.actor, v.correlation_id, v.payload}) {
        EXPECT_TRUE(f.empty() || (f.data() >= bytes.data() &&
                                  f.data() + f.size() <= bytes.data() + bytes.size()));
      }
    } else {
      EXPECT_EQ(s.code(), ErrorCode::kCorruption);
    }
  }
}

// Garbage through the reuse path: an error, never a crash, and the value stays usable.
TEST(Codec, GarbageIntoAReusedValueIsAnError) {
  std::mt19937_64 rng(4242);
  RecordedEvent reused;
  for (const auto& e : Samples()) {
    std::string good = EncodeEnvelope(Envelope{.position = 7, .stream = "s", .version = 1,
                                               .type = TypeOf(e), .payload = EncodeEvent(e)});
    for (int i = 0; i < 200; ++i) {
      std::string bytes = good;
      int flips = 1 + static_cast<int>(rng() % 6);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      if (i % 5 == 0) bytes.resize(rng() % (bytes.size() + 1));
      Status s = DecodeRecordedInto(bytes, Hash256{}, &reused);
      if (!s.ok()) {
        EXPECT_EQ(s.code(), ErrorCode::kCorruption);
      }
    }
    ASSERT_TRUE(DecodeRecordedInto(good, Hash256{}, &reused).ok());
    EXPECT_EQ(reused.event, e);
  }
}

TEST(Json, RendersSnakeCaseHexAndTimes) {
  auto j = EventToJson(Samples()[10]);
  EXPECT_EQ(j.at("workspace_id").as_string(), "w1");
  EXPECT_EQ(j.at("email_key").as_string(), std::string(64, '0').replace(0, 64, ToHex(std::string(32, '\x07'))));
  EXPECT_EQ(j.at("expires_at").as_string(), FormatRfc3339(1790000000000000));
  EXPECT_EQ(j.at("access").as_object().at("products").as_string(), "edit");
  EXPECT_EQ(j.at("scope").as_object().at("markets").as_array().size(), 2u);
  auto w = EventToJson(Samples()[4]);
  EXPECT_EQ(w.at("template").as_string(), "standard");
  EXPECT_EQ(w.at("invite_ttl_seconds").as_int64(), 604800);
}

// The exact text of one audit row, captured before json.cc was tuned: key order and
// formatting are part of what API clients and exports see.
TEST(Json, RecordedTextIsPinned) {
  Envelope env = testing::SampleEnvelopes()[0];
  env.payload = EncodeEvent(Samples()[10]);
  RecordedEvent r{env, Samples()[10]};
  EXPECT_EQ(boost::json::serialize(RecordedToJson(r)),
      R"({"position":42,"stream":"account-a1","version":3,"type":"InviteSent","recorded_at":"2026-0)"
      R"(9-21T14:13:20.123456Z","actor":"user:u1","correlation_id":"req-1","causation_id":"evt-41",)"
      R"("idempotency_key":"k1","payload":{"workspace_id":"w1","invitation_id":"i1","email_key":"07)"
      R"(07070707070707070707070707070707070707070707070707070707070707","subject":"sub_3","role":")"
      R"(editor","access":{"assets":"none","products":"edit"},"scope":{"markets":["DE","FR"],"sets")"
      R"(:["spring"],"groups":["g1"]},"token_hash":"09090909090909090909090909090909090909090909090)"
      R"(90909090909090909","expires_at":"2026-09-21T14:13:20.000000Z"},"prev_hash":"03030303030303)"
      R"(03030303030303030303030303030303030303030303030303","hash":"000000000000000000000000000000)"
      R"(0000000000000000000000000000000000"})");
}

}  // namespace
}  // namespace roster::events
