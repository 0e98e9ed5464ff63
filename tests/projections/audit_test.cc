// Audit trail: entries, filters, cursor pagination, activity, CSV and JSON Lines export.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "projections/engine.h"
#include "projections/json.h"
#include "projections/queries.h"
#include "tests/projections/ledger_builder.h"

#include <random>
#include <set>

namespace roster::projections {
namespace {

using testing::LedgerBuilder;
namespace ev = roster::events;
namespace json = boost::json;

class AuditTest : public ::testing::Test {
 protected:
  AuditTest() : engine_(b_.store(), EngineOptions{.snapshots = false}) {}

  void SetUp() override {
    b_.Account("acme", "Acme", "ana", "ana@acme.io");                      // 1
    b_.Workspace("acme", "w1", "Spring Catalogue");                         // 2
    b_.Workspace("acme", "w2", "Autumn");                                   // 3
    b_.Invite("acme", "w1", "i1", "bo@acme.io", "editor", b_.Now() + 1'000'000'000,
              "user:ana");                                                  // 4
    b_.Join("acme", "w1", "bo", "bo@acme.io", "editor", {}, {}, "i1");      // 5
    b_.Account("other", "Other", "oz", "oz@other.io");                      // 6
    b_.Append("acme", ev::RoleChanged{"w1", "bo", "editor", "viewer"}, "user:ana");  // 7
    b_.Join("acme", "w2", "cy", "cy@acme.io", "viewer");                    // 8
    b_.Append("acme", ev::MemberRemoved{"w1", "bo", "viewer"}, "user:ana");  // 9
    ASSERT_TRUE(engine_.CatchUp().ok());
  }

  std::vector<uint64_t> Positions(const AuditFilter& f, size_t limit = 100) {
    std::vector<uint64_t> out;
    PageRequest page{limit, ""};
    for (int guard = 0; guard < 100; ++guard) {
      auto r = engine_.Audit(f, page);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) break;
      for (const auto& e : r->entries) out.push_back(e.position);
      if (!r->next_cursor) break;
      page.cursor = *r->next_cursor;
    }
    return out;
  }

  LedgerBuilder b_;
  Engine engine_;
};

TEST_F(AuditTest, EntryFieldsAndSummary) {
  auto page = engine_.Audit({}, {.limit = 5});
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->entries.size(), 5u);
  const AuditEntry& invite = page->entries[3];
  EXPECT_EQ(invite.position, 4u);
  EXPECT_EQ(invite.type, "InviteSent");
  EXPECT_EQ(invite.actor, "user:ana");
  EXPECT_EQ(invite.subject, "i1");
  EXPECT_EQ(invite.account_id, "acme");
  EXPECT_EQ(invite.workspace_id, "w1");
  EXPECT_EQ(invite.summary, "ana@acme.io invited bo@acme.io as editor to Spring Catalogue");
  EXPECT_EQ(invite.data.at("email").as_string(), "bo@acme.io");
  EXPECT_FALSE(invite.data.contains("email_key"));
  EXPECT_EQ(invite.data.at("role").as_string(), "editor");
  EXPECT_EQ(invite.hash.size(), 64u);
  EXPECT_EQ(invite.hash, ToHex(b_.store().Read(4)->envelope.hash));
  EXPECT_EQ(page->entries[4].summary, "bo@acme.io accepted the invitation to Spring Catalogue as editor");
  EXPECT_EQ(page->entries[0].summary,
            "service opened the account Acme (standard, eu) owned by ana@acme.io");
  EXPECT_EQ(page->entries[0].data.at("owner_email").as_string(), "ana@acme.io");
  json::object o = AuditPageToJson(*page);
  for (const char* field : {"position", "recorded_at", "type", "actor", "subject", "account_id",
                            "workspace_id", "summary", "data", "hash"}) {
    EXPECT_TRUE(o.at("entries").as_array()[3].as_object().contains(field)) << field;
  }
  EXPECT_TRUE(o.at("entries").as_array()[0].as_object().at("workspace_id").is_null());
  EXPECT_EQ(o.at("position").as_uint64(), 9u);
}

TEST_F(AuditTest, FiltersAndCursorPagination) {
  EXPECT_EQ(Positions({.workspace = "w1"}), (std::vector<uint64_t>{2, 4, 5, 7, 9}));
  EXPECT_EQ(Positions({.workspace = "w1"}, 2), (std::vector<uint64_t>{2, 4, 5, 7, 9}));
  EXPECT_EQ(Positions({.account = "other"}), (std::vector<uint64_t>{6}));
  EXPECT_EQ(Positions({.actor = "ana"}), (std::vector<uint64_t>{4, 7, 9}));
  EXPECT_EQ(Positions({.actor = "user:ana"}, 1), (std::vector<uint64_t>{4, 7, 9}));
  EXPECT_EQ(Positions({.subject = "bo"}), (std::vector<uint64_t>{5, 7, 9}));
  EXPECT_EQ(Positions({.type = "RoleChanged"}), (std::vector<uint64_t>{7}));
  EXPECT_EQ(Positions({.account = "acme", .workspace = "w2"}), (std::vector<uint64_t>{3, 8}));
  EXPECT_EQ(Positions({.workspace = "w1", .actor = "ana", .type = "MemberRemoved"}),
            (std::vector<uint64_t>{9}));
  // Time range: events are one second apart from kStart + 1 s.
  Micros t4 = testing::kStart + 4 * kMicrosPerSecond;
  Micros t7 = testing::kStart + 7 * kMicrosPerSecond;
  EXPECT_EQ(Positions({.from = t4, .to = t7}), (std::vector<uint64_t>{4, 5, 6, 7}));
  EXPECT_EQ(Positions({.workspace = "w1", .from = t4 + 1, .to = t7}),
            (std::vector<uint64_t>{5, 7}));
  // Unknown values: empty; unknown type: invalid_field; bad cursor: invalid_field.
  EXPECT_TRUE(Positions({.workspace = "nope"}).empty());
  EXPECT_TRUE(Positions({.actor = "nobody"}).empty());
  EXPECT_EQ(engine_.Audit({.type = "Bogus"}).status().code(), ErrorCode::kInvalidField);
  EXPECT_EQ(engine_.Audit({}, {.cursor = "%%%"}).status().code(), ErrorCode::kInvalidField);
  // Limits: default 100, max 1000.
  EXPECT_EQ(ClampLimit(0), 100u);
  EXPECT_EQ(ClampLimit(5000), 1000u);
  // Cursors are stable: appending more does not change what a cursor points at.
  auto first = engine_.Audit({.workspace = "w1"}, {.limit = 2});
  b_.Append("acme", ev::LinkCreated{"w1", "viewer", ev::Bytes{"h"}}, "user:ana");
  ASSERT_TRUE(engine_.CatchUp().ok());
  auto next = engine_.Audit({.workspace = "w1"}, {.limit = 100, .cursor = *first->next_cursor});
  std::vector<uint64_t> rest;
  for (const auto& e : next->entries) rest.push_back(e.position);
  EXPECT_EQ(rest, (std::vector<uint64_t>{5, 7, 9, 10}));
  uint64_t decoded = 0;
  EXPECT_TRUE(DecodeCursor(EncodeCursor(123456789), &decoded));
  EXPECT_EQ(decoded, 123456789u);
}

TEST_F(AuditTest, ActivityNewestFirstKeptAfterRemoval) {
  auto a = engine_.Activity("bo");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->entries.size(), 1u);  // bo accepted the invitation (then was removed)
  EXPECT_EQ(a->entries[0].position, 5u);
  auto ana = engine_.Activity("ana", {.limit = 2});
  ASSERT_EQ(ana->entries.size(), 2u);
  EXPECT_EQ(ana->entries[0].position, 9u);
  EXPECT_EQ(ana->entries[1].position, 7u);
  ASSERT_TRUE(ana->next_cursor);
  auto more = engine_.Activity("ana", {.limit = 2, .cursor = *ana->next_cursor});
  ASSERT_EQ(more->entries.size(), 1u);
  EXPECT_EQ(more->entries[0].position, 4u);
  EXPECT_FALSE(more->next_cursor);
}

TEST_F(AuditTest, CsvQuotingAndNeutralisation) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvCell("+1"), "'+1");
  EXPECT_EQ(CsvCell("-2"), "'-2");
  EXPECT_EQ(CsvCell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvCell("\tx"), "'\tx");
  EXPECT_EQ(CsvCell("\rx"), "\"'\rx\"");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("line\nbreak"), "\"line\nbreak\"");

  // A workspace named like a formula, and an actor that is one: the actor cell (which
  // starts with it) is neutralised; the name inside the summary is not at a cell start.
  b_.Workspace("acme", "w3", "=cmd|' /C calc'!A0");
  b_.Append("acme", ev::LinkDisabled{"w3"}, "=1+1");
  ASSERT_TRUE(engine_.CatchUp().ok());
  std::string csv;
  ASSERT_TRUE(engine_
                  .ExportAudit({.workspace = "w3"}, ExportFormat::kCsv,
                               [&](std::string_view c) {
                                 csv += c;
                                 return true;
                               })
                  .ok());
  EXPECT_TRUE(csv.starts_with(
      "position,recorded_at,type,actor,subject,account_id,workspace_id,summary,hash,data\r\n"));
  EXPECT_NE(csv.find("WorkspaceCreated"), std::string::npos);
  EXPECT_NE(csv.find("service created the workspace =cmd"), std::string::npos);
  // data is a JSON cell, quoted (it has commas and quotes), with the name inside.
  EXPECT_NE(csv.find("\"{\"\"workspace_id\"\":\"\"w3\"\""), std::string::npos);
  EXPECT_NE(csv.find(",'=1+1,"), std::string::npos);
  EXPECT_NE(csv.find(",'=1+1 disabled the invite link of =cmd|' /C calc'!A0,"),
            std::string::npos);
  EXPECT_TRUE(csv.ends_with("\r\n"));
  size_t lines = 0;
  for (char ch : csv) lines += ch == '\n';
  EXPECT_EQ(lines, 3u);
}

TEST_F(AuditTest, JsonLinesExportStreamsPagesAndStops) {
  // Enough events for several export pages (1000 each).
  for (int i = 0; i < 1200; ++i) {
    b_.Append("acme", ev::LinkRegenerated{"w2", ev::Bytes{"h"}}, "user:ana");
  }
  ASSERT_TRUE(engine_.CatchUp().ok());
  size_t lines = 0, chunks = 0;
  uint64_t last = 0;
  ASSERT_TRUE(engine_
                  .ExportAudit({}, ExportFormat::kJsonLines,
                               [&](std::string_view chunk) {
                                 ++chunks;
                                 size_t start = 0;
                                 for (size_t i = 0; i < chunk.size(); ++i) {
                                   if (chunk[i] != '\n') continue;
                                   auto v = json::parse(chunk.substr(start, i - start));
                                   auto p = v.as_object().at("position").to_number<uint64_t>();
                                   EXPECT_EQ(p, last + 1);
                                   last = p;
                                   ++lines;
                                   start = i + 1;
                                 }
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(lines, 1209u);
  EXPECT_EQ(chunks, 2u);
  // The sink may stop early.
  size_t calls = 0;
  ASSERT_TRUE(engine_
                  .ExportAudit({}, ExportFormat::kJsonLines,
                               [&](std::string_view) { return ++calls < 1; })
                  .ok());
  EXPECT_EQ(calls, 1u);
}

// The audit position lists live in three parts (sealed by a counting sort, live vectors,
// rows not indexed yet during a bulk catch-up). Whatever part holds a position, Select
// and ByActorNewestFirst must answer exactly what a scan of the rows answers.
TEST(AuditIndex, SealedLiveAndUnindexedPartsAnswerLikeAScan) {
  LedgerBuilder b;
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  for (int a = 0; a < 3; ++a) {
    std::string acct = "a" + std::to_string(a);
    b.Account(acct, "A", "own" + std::to_string(a), "own" + std::to_string(a) + "@x.io");
    for (int w = 0; w < 2; ++w) b.Workspace(acct, acct + "w" + std::to_string(w), "W");
  }
  std::vector<std::string> roles = {"viewer", "editor", "admin"};
  for (int i = 0; i < 400; ++i) {
    std::string acct = "a" + std::to_string(pick(3));
    std::string ws = acct + "w" + std::to_string(pick(2));
    std::string user = "u" + std::to_string(pick(25));
    std::string actor = pick(4) == 0 ? "service" : "user:own" + acct.substr(1);
    switch (pick(4)) {
      case 0: b.Join(acct, ws, user, user + "@x.io", roles[pick(3)]); break;
      case 1:
        b.Append(acct, ev::RoleChanged{ws, user, roles[pick(3)], roles[pick(3)]}, actor);
        break;
      case 2: b.Append(acct, ev::MemberRemoved{ws, user, "viewer"}, actor); break;
      default:
        b.Invite(acct, ws, "i" + std::to_string(i), user + "@x.io", "viewer", b.Now(), actor);
    }
  }
  std::vector<ev::RecordedEvent> log;
  ASSERT_TRUE(b.store()
                  .Scan(1, 0,
                        [&](const ev::RecordedEvent& r) {
                          log.push_back(r);
                          return true;
                        })
                  .ok());
  const uint64_t n = log.size();

  // The reference: a scan of the rows.
  auto matches = [](const AuditRow& r, const AuditSelector& s) {
    return (!s.use_account || r.account == s.account) &&
           (!s.use_workspace || r.workspace == s.workspace) &&
           (!s.use_actor || r.actor == s.actor) && (!s.use_subject || r.subject == s.subject) &&
           (!s.use_type || r.type == s.type);
  };
  auto check = [&](const State& st, const std::string& where) {
    SCOPED_TRACE(where);
    const Audit& audit = st.audit;
    std::vector<AuditSelector> selectors;
    for (uint64_t p = 1; p <= n; p += 37) {
      const AuditRow& r = audit.row(p);
      selectors.push_back({.use_account = true, .account = r.account});
      selectors.push_back({.use_workspace = true, .workspace = r.workspace});
      selectors.push_back({.use_actor = true, .actor = r.actor});
      selectors.push_back({.use_subject = true, .subject = r.subject});
      selectors.push_back({.use_type = true, .type = r.type});
      selectors.push_back({.use_workspace = true, .use_type = true, .workspace = r.workspace,
                           .type = r.type});
      selectors.push_back({.use_account = true, .use_actor = true, .account = r.account,
                           .actor = r.actor});
    }
    selectors.push_back({});
    selectors.push_back({.use_actor = true, .actor = 100000});  // unknown
    selectors.push_back({.use_account = true, .account = kNone});
    size_t compared = 0;
    for (AuditSelector sel : selectors) {
      for (uint64_t from : {uint64_t{0}, uint64_t{1}, uint64_t{150}, n / 2, n, n + 5}) {
        for (uint64_t to : {n, n / 2 + 40, uint64_t{3}}) {
          for (size_t limit : {size_t{1}, size_t{7}, size_t{1000}}) {
            sel.from_position = from;
            sel.to_position = to;
            std::vector<uint64_t> want;
            bool want_more = false;
            uint64_t want_next = 0;
            // Nothing is indexed under kNone (e.g. the workspace of an AccountOpened).
            bool any_none = (sel.use_account && sel.account == kNone) ||
                            (sel.use_workspace && sel.workspace == kNone) ||
                            (sel.use_actor && sel.actor == kNone) ||
                            (sel.use_subject && sel.subject == kNone);
            for (uint64_t p = std::max<uint64_t>(from, 1); !any_none && p <= std::min(to, n);
                 ++p) {
              if (!matches(audit.row(p), sel)) continue;
              if (want.size() == limit) {
                want_more = true;
                want_next = p;
                break;
              }
              want.push_back(p);
            }
            bool more = false;
            uint64_t next = 0;
            EXPECT_EQ(audit.Select(sel, limit, &more, &next), want);
            EXPECT_EQ(more, want_more);
            EXPECT_EQ(next, want_next);
            ++compared;
          }
        }
      }
    }
    std::set<uint32_t> actors;
    for (uint64_t p = 1; p <= n; ++p) actors.insert(audit.row(p).actor);
    for (uint32_t actor : actors) {
      for (uint64_t before : {uint64_t{0}, uint64_t{1}, uint64_t{90}, n / 2, n, n + 1, n + 9}) {
        for (size_t limit : {size_t{1}, size_t{5}, size_t{1000}}) {
          std::vector<uint64_t> want;
          bool want_more = false;
          uint64_t want_next = 0;
          uint64_t top = before == 0 ? n : std::min(before - 1, n);
          for (uint64_t p = top; p >= 1; --p) {
            if (audit.row(p).actor != actor) continue;
            if (want.size() == limit) {
              want_more = true;
              want_next = p + 1;
              break;
            }
            want.push_back(p);
          }
          bool more = false;
          uint64_t next = 0;
          EXPECT_EQ(audit.ByActorNewestFirst(actor, before, limit, &more, &next), want);
          EXPECT_EQ(more, want_more);
          EXPECT_EQ(next, want_next);
          ++compared;
        }
      }
    }
    EXPECT_GT(compared, 1000u);
  };

  // (sealed up to a, live up to b, unindexed after b) for several splits.
  for (auto [a, bb] : std::vector<std::pair<uint64_t, uint64_t>>{
           {0, 0}, {0, n}, {n, n}, {n / 3, 2 * n / 3}, {100, 101}, {0, n / 2}, {n / 2, n}}) {
    State st;
    st.BeginBulk(n);
    for (uint64_t i = 0; i < a; ++i) st.Apply(log[i]);
    st.EndBulk();
    for (uint64_t i = a; i < bb; ++i) st.Apply(log[i]);
    st.BeginBulk(n);
    for (uint64_t i = bb; i < n; ++i) st.Apply(log[i]);
    std::string where = "sealed " + std::to_string(a) + ", live " + std::to_string(bb) +
                        ", unindexed " + std::to_string(n);
    check(st, where);
    st.EndBulk();
    check(st, where + ", then sealed");
    // A snapshot round trip seals on load.
    auto loaded = State::Deserialize(st.Serialize());
    ASSERT_TRUE(loaded.ok());
    check(**loaded, where + ", loaded");
    EXPECT_EQ((*loaded)->Digest(), st.Digest());
  }
}

}  // namespace
}  // namespace roster::projections
