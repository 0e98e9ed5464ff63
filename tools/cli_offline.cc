// Offline subcommands: verify, replay, export. Each opens the ledger read-only (RocksDB
// OpenForReadOnly takes no lock, so this works beside a running rosterd and never writes).

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <boost/json/serialize.hpp>

#include "base/clock.h"
#include "base/crypto.h"
#include "projections/engine.h"
#include "projections/json.h"
#include "storage/rocksdb_store.h"
#include "tools/cli.h"
#include "tools/http_client.h"

namespace roster::tools {
namespace {

// `salvage`: for verify, which opens a ledger whose write-ahead log is damaged anyway and
// reports the first position it cannot read (RocksDbOptions::salvage_wal_prefix).
Result<std::unique_ptr<storage::RocksDbEventStore>> OpenReadOnly(const std::string& dir,
                                                                 bool salvage = false) {
  if (dir.empty()) return Error(ErrorCode::kInvalidField, "--data-dir is required");
  return storage::RocksDbEventStore::Open(storage::RocksDbOptions{.path = dir + "/ledger",
                                                                  .read_only = true,
                                                                  .salvage_wal_prefix = salvage,
                                                                  .verify_reads = true});
}

void PrintJson(const boost::json::value& v) { std::cout << boost::json::serialize(v) << "\n"; }

}  // namespace

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "roster: %s\n", message.c_str());
  return code;
}

int RunVerify(const VerifyArgs& args) {
  auto store = OpenReadOnly(args.data_dir, /*salvage=*/true);
  if (!store.ok()) return Fail(2, "cannot open " + args.data_dir + ": " + store.error().ToString());
  storage::VerifyReport report = (*store)->Verify();
  boost::json::object summary{{"ok", report.ok},
                              {"checked", report.checked},
                              {"head_position", report.head.position},
                              {"head_hash", ToHex(report.head.hash)}};
  if (!report.ok) {
    summary["first_bad_position"] = report.first_bad_position;
    summary["problem"] = report.problem;
  }
  int code = report.ok ? 0 : 1;
  if (report.ok && !args.against.empty()) {
    auto remote = FetchHead(args.against, args.service_key);
    if (!remote.ok()) return Fail(2, "--against " + args.against + ": " + remote.error().message());
    summary["remote_position"] = remote->position;
    summary["remote_hash"] = remote->hash;
    // The server may be ahead of this copy; compare at the common position.
    uint64_t common = std::min(remote->position, report.head.position);
    std::string local_hash_at_common, remote_hash_at_common;
    if (common > 0) {
      auto local_event = (*store)->Read(common);
      if (!local_event.ok()) return Fail(2, local_event.error().ToString());
      local_hash_at_common = ToHex(local_event->envelope.hash);
      auto remote_at = FetchEventHash(args.against, args.service_key, common);
      if (!remote_at.ok()) return Fail(2, "--against: " + remote_at.error().message());
      remote_hash_at_common = *remote_at;
    }
    bool match = local_hash_at_common == remote_hash_at_common;
    summary["common_position"] = common;
    summary["matches_remote"] = match;
    if (!match) code = 1;
  }
  if (args.json) {
    PrintJson(summary);
  } else if (report.ok) {
    std::printf("ok: %llu events, head position %llu, head hash %s\n",
                static_cast<unsigned long long>(report.checked),
                static_cast<unsigned long long>(report.head.position),
                ToHex(report.head.hash).c_str());
    if (summary.contains("matches_remote")) {
      std::printf("%s: remote head %llu %s; hashes at position %llu %s\n",
                  summary["matches_remote"].as_bool() ? "ok" : "MISMATCH",
                  static_cast<unsigned long long>(summary["remote_position"].as_uint64()),
                  summary["remote_hash"].as_string().c_str(),
                  static_cast<unsigned long long>(summary["common_position"].as_uint64()),
                  summary["matches_remote"].as_bool() ? "match" : "differ");
    }
  } else {
    std::printf("BAD at position %llu: %s (%llu events verified before it)\n",
                static_cast<unsigned long long>(report.first_bad_position),
                report.problem.c_str(), static_cast<unsigned long long>(report.checked));
  }
  return code;
}

int RunReplay(const ReplayArgs& args) {
  auto store = OpenReadOnly(args.data_dir);
  if (!store.ok()) return Fail(2, "cannot open " + args.data_dir + ": " + store.error().ToString());
  Result<std::unique_ptr<projections::Engine>> engine = Error(ErrorCode::kInternal, "unset");
  if (args.until_position) {
    engine = projections::Engine::ReplayUntil(**store, *args.until_position);
  } else if (!args.until.empty()) {
    auto t = ParseRfc3339(args.until);
    if (!t) return Fail(2, "--until: not an RFC 3339 time: " + args.until);
    engine = projections::Engine::ReplayUntilTime(**store, *t);
  } else {
    return Fail(2, "give --until-position N or --until TIME");
  }
  if (!engine.ok()) return Fail(2, "replay failed: " + engine.error().ToString());
  const projections::Engine& e = **engine;

  auto need = [](const std::string& v, const char* flag) {
    if (v.empty()) throw std::invalid_argument(std::string(flag) + " is required");
  };
  try {
    if (args.question == "check") {
      need(args.principal, "--principal");
      need(args.permission, "--permission");
      if (!args.account.empty()) {
        PrintJson(projections::DecisionToJson(
            e.CheckAccount(args.principal, args.permission, args.account, args.resource)));
      } else {
        need(args.workspace, "--workspace");
        projections::Where where{.market = args.market, .set = args.set};
        PrintJson(projections::DecisionToJson(
            e.Check(args.principal, args.permission, args.workspace, where)));
      }
    } else if (args.question == "members") {
      need(args.workspace, "--workspace");
      projections::PageRequest page{.limit = projections::kMaxLimit};
      boost::json::array all;
      uint64_t position = 0;
      for (;;) {
        auto r = e.Members(args.workspace, page);
        if (!r.ok()) return Fail(1, r.error().ToString());
        auto j = projections::MembersToJson(*r);
        for (auto& m : j["members"].as_array()) all.push_back(m);
        position = r->position;
        if (!r->next_cursor) break;
        page.cursor = *r->next_cursor;
      }
      PrintJson(boost::json::object{{"members", all}, {"position", position}});
    } else if (args.question == "access-review") {
      need(args.workspace, "--workspace");
      auto from = ParseRfc3339(args.from);
      auto to = ParseRfc3339(args.to);
      if (!from || !to) return Fail(2, "--from and --to must be RFC 3339 times");
      auto r = e.AccessReview(args.workspace, projections::AsOf::Time(*from),
                              projections::AsOf::Time(*to));
      if (!r.ok()) return Fail(1, r.error().ToString());
      PrintJson(projections::AccessReviewToJson(*r));
    } else if (args.question == "user-access") {
      need(args.user, "--user");
      PrintJson(projections::UserAccessToJson(e.UserAccess(args.user)));
    } else if (args.question == "access-history") {
      need(args.workspace, "--workspace");
      need(args.user, "--user");
      auto r = e.AccessHistory(args.workspace, args.user);
      if (!r.ok()) return Fail(1, r.error().ToString());
      PrintJson(projections::AccessHistoryToJson(*r));
    } else {
      return Fail(2, "unknown question \"" + args.question +
                         "\" (check, members, access-review, user-access, access-history)");
    }
  } catch (const std::invalid_argument& e) {
    return Fail(2, e.what());
  }
  return 0;
}

int RunExport(const ExportArgs& args) {
  projections::ExportFormat format;
  if (args.format == "jsonl") {
    format = projections::ExportFormat::kJsonLines;
  } else if (args.format == "csv") {
    format = projections::ExportFormat::kCsv;
  } else {
    return Fail(2, "--format must be jsonl or csv");
  }
  projections::AuditFilter filter{.account = args.account, .workspace = args.workspace,
                                  .actor = args.actor, .subject = args.subject, .type = args.type};
  if (!args.from.empty()) {
    filter.from = ParseRfc3339(args.from);
    if (!filter.from) return Fail(2, "--from: not an RFC 3339 time");
  }
  if (!args.to.empty()) {
    filter.to = ParseRfc3339(args.to);
    if (!filter.to) return Fail(2, "--to: not an RFC 3339 time");
  }
  auto store = OpenReadOnly(args.data_dir);
  if (!store.ok()) return Fail(2, "cannot open " + args.data_dir + ": " + store.error().ToString());
  auto engine = projections::Engine::ReplayUntil(**store, (*store)->GetHead().position);
  if (!engine.ok()) return Fail(2, "reading the log failed: " + engine.error().ToString());

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!args.output.empty() && args.output != "-") {
    file.open(args.output, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(2, "cannot write " + args.output);
    out = &file;
  }
  Status st = (*engine)->ExportAudit(filter, format, [&](std::string_view chunk) {
    out->write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    return static_cast<bool>(*out);
  });
  out->flush();
  if (!st.ok()) return Fail(1, "export failed: " + st.ToString());
  if (!*out) return Fail(2, "write failed (disk full or closed pipe?)");
  return 0;
}

}  // namespace roster::tools
