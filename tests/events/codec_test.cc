#include <gtest/gtest.h>

#include <capnp/schema.h>

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
  Envelope env;
  env.position = 42;
  env.stream = "account-a1";
  env.version = 3;
  env.type = EventType::kInviteSent;
  env.recorded_at = 1790000000123456;
  env.actor = "user:u1";
  env.correlation_id = "req-1";
  env.idempotency_key = "k1";
  env.payload = EncodeEvent(Samples()[10]);
  env.prev_hash.fill(3);
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

}  // namespace
}  // namespace roster::events
