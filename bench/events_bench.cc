// Events codec benchmark (issues 2 and 4): encode and decode of a realistic event mix
// (~300-byte envelopes), envelope-only decode, DecodeRecorded and JSON rendering.
// Google Benchmark; one event per iteration, round-robin over the mix, so "time" is the
// cost per event. `make bench` runs it briefly (ctest -L bench); for figures:
//
//   build-codec/bench/events_bench --benchmark_min_time=2 --benchmark_repetitions=3
//
// The load average of the shared machine is printed in the context header.
#include <benchmark/benchmark.h>

#include <boost/json/serialize.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "events/codec.h"
#include "events/json.h"

namespace roster::events {
namespace {

std::string Id(const char* prefix, int n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s%012x", prefix, 0x5eed0000u + static_cast<unsigned>(n) * 7919u);
  return buf;
}

Bytes Key(int n) { return Bytes{std::string(32, static_cast<char>(n))}; }

// The shapes a busy workspace produces most: invitations, joins, role and access edits.
std::vector<Event> Mix() {
  std::vector<Event> out;
  for (int i = 0; i < 16; ++i) {
    std::string ws = Id("ws_", i % 3), user = Id("usr_", i), inv = Id("inv_", i);
    std::string subject = "sub_" + std::string(32, static_cast<char>('a' + i % 6));
    AccessMap access{{"products", "edit"}, {"assets", "view"}};
    Scope scope = i % 2 ? Scope{} : Scope{{"DE", "FR"}, {}, {}};
    out.push_back(InviteSent{ws, inv, Key(i), subject, "editor", access, scope, Key(i + 1),
                             1790000000000000 + i});
    out.push_back(RoleChanged{ws, user, "viewer", "editor"});
    out.push_back(MemberRemoved{ws, user, "editor"});
    out.push_back(AccessChanged{ws, user, access});
    out.push_back(LinkJoined{ws, user, Key(i), subject, "viewer"});
    out.push_back(InviteAccepted{ws, inv, user, Key(i), subject, "editor", access, scope});
    out.push_back(ScopeChanged{ws, user, scope});
    out.push_back(PartnerSetsAssigned{ws, Id("prt_", i), {"spring-26", "summer-26"}});
  }
  return out;
}

// RoleChanged alone: the event the storage benchmark replays (~310-byte envelopes).
std::vector<Event> RoleChanges() {
  std::vector<Event> out;
  for (const auto& e : Mix()) {
    if (std::holds_alternative<RoleChanged>(e)) out.push_back(e);
  }
  return out;
}

std::vector<Envelope> Envelopes(const std::vector<Event>& events) {
  std::vector<Envelope> out;
  Hash256 prev{};
  for (size_t i = 0; i < events.size(); ++i) {
    Envelope env;
    env.position = 1000000 + i;
    env.stream = "account-" + Id("acc_", static_cast<int>(i % 3));
    env.version = 500 + i;
    env.type = TypeOf(events[i]);
    env.recorded_at = 1790000000000000 + static_cast<int64_t>(i) * 1000;
    env.actor = "user:" + Id("usr_", 99);
    env.correlation_id = Id("req_", static_cast<int>(i));
    if (i % 4 == 0) env.idempotency_key = Id("idem_", static_cast<int>(i));
    env.payload = EncodeEvent(events[i]);
    env.prev_hash = prev;
    prev = ChainHash(prev, EncodeEnvelope(env));
    out.push_back(std::move(env));
  }
  return out;
}

struct Fixture {
  std::vector<Event> events;
  std::vector<Envelope> envelopes;
  std::vector<std::string> canonical;
  std::vector<RecordedEvent> recorded;
  double avg_canonical = 0, avg_payload = 0;
  explicit Fixture(std::vector<Event> e) : events(std::move(e)), envelopes(Envelopes(events)) {
    for (const auto& env : envelopes) {
      canonical.push_back(EncodeEnvelope(env));
      avg_canonical += static_cast<double>(canonical.back().size());
      avg_payload += static_cast<double>(env.payload.size());
      recorded.push_back(*DecodeRecorded(canonical.back(), Hash256{}));
    }
    avg_canonical /= static_cast<double>(canonical.size());
    avg_payload /= static_cast<double>(canonical.size());
  }
};

// Argument 0: the mix; 1: RoleChanged only.
const Fixture& F(const benchmark::State& state) {
  static const Fixture mix(Mix());
  static const Fixture role_changes(RoleChanges());
  return state.range(0) == 0 ? mix : role_changes;
}

void Finish(benchmark::State& state) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(state.range(0) == 0 ? "mix" : "RoleChanged");
  state.counters["env_bytes"] = F(state).avg_canonical;
  state.counters["body_bytes"] = F(state).avg_payload;
}

// Runs `one(fixture, i)` once per iteration, i cycling over the fixture's events;
// `one` returns false when a decode failed.
template <class Fn>
void PerEvent(benchmark::State& state, Fn&& one) {
  const Fixture& f = F(state);
  size_t i = 0;
  for (auto _ : state) {
    if (!one(f, i)) state.SkipWithError("decode failed");
    if (++i == f.events.size()) i = 0;
  }
  Finish(state);
}

void BM_EncodeEvent(benchmark::State& state) {
  PerEvent(state, [](const Fixture& f, size_t i) {
    benchmark::DoNotOptimize(EncodeEvent(f.events[i]));
    return true;
  });
}
BENCHMARK(BM_EncodeEvent)->Arg(0)->Arg(1);

void BM_EncodeEnvelope(benchmark::State& state) {
  PerEvent(state, [](const Fixture& f, size_t i) {
    benchmark::DoNotOptimize(EncodeEnvelope(f.envelopes[i]));
    return true;
  });
}
BENCHMARK(BM_EncodeEnvelope)->Arg(0)->Arg(1);

void BM_DecodeEnvelope(benchmark::State& state) {
  PerEvent(state, [](const Fixture& f, size_t i) {
    auto env = DecodeEnvelope(f.canonical[i]);
    benchmark::DoNotOptimize(env);
    return env.ok();
  });
}
BENCHMARK(BM_DecodeEnvelope)->Arg(0)->Arg(1);

// Envelope fields as views: what chain checks need, with no copies.
void BM_ReadEnvelopeView(benchmark::State& state) {
  EnvelopeView view;
  PerEvent(state, [&view](const Fixture& f, size_t i) {
    bool ok = ReadEnvelopeView(f.canonical[i], &view).ok();
    benchmark::DoNotOptimize(view);
    return ok;
  });
}
BENCHMARK(BM_ReadEnvelopeView)->Arg(0)->Arg(1);

void BM_DecodeEvent(benchmark::State& state) {
  PerEvent(state, [](const Fixture& f, size_t i) {
    auto e = DecodeEvent(f.envelopes[i].type, f.envelopes[i].payload);
    benchmark::DoNotOptimize(e);
    return e.ok();
  });
}
BENCHMARK(BM_DecodeEvent)->Arg(0)->Arg(1);

void BM_DecodeRecorded(benchmark::State& state) {
  PerEvent(state, [](const Fixture& f, size_t i) {
    auto r = DecodeRecorded(f.canonical[i], Hash256{});
    benchmark::DoNotOptimize(r);
    return r.ok();
  });
}
BENCHMARK(BM_DecodeRecorded)->Arg(0)->Arg(1);

// The replay loop's form: one RecordedEvent reused for every event.
void BM_DecodeRecordedInto(benchmark::State& state) {
  RecordedEvent out;
  PerEvent(state, [&out](const Fixture& f, size_t i) {
    bool ok = DecodeRecordedInto(f.canonical[i], Hash256{}, &out).ok();
    benchmark::DoNotOptimize(out);
    return ok;
  });
}
BENCHMARK(BM_DecodeRecordedInto)->Arg(0)->Arg(1);

void BM_EventToJson(benchmark::State& state) {
  PerEvent(state, [](const Fixture& f, size_t i) {
    benchmark::DoNotOptimize(EventToJson(f.events[i]));
    return true;
  });
}
BENCHMARK(BM_EventToJson)->Arg(0)->Arg(1);

// What an audit page pays per row: the object and its text.
void BM_RecordedToJsonText(benchmark::State& state) {
  PerEvent(state, [](const Fixture& f, size_t i) {
    benchmark::DoNotOptimize(boost::json::serialize(RecordedToJson(f.recorded[i])));
    return true;
  });
}
BENCHMARK(BM_RecordedToJsonText)->Arg(0)->Arg(1);

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace
}  // namespace roster::events

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("loadavg_start", roster::events::LoadAverage());
  benchmark::RunSpecifiedBenchmarks();
  std::printf("loadavg at end: %s\n", roster::events::LoadAverage().c_str());
  benchmark::Shutdown();
  return 0;
}
