// The `roster` command-line tool: one function per subcommand, each returning the
// process exit code. main() (tools/roster.cc) parses flags with CLI11 and dispatches.
//
// Exit codes: 0 success; 1 the answer is "no" (verify found damage, a check is denied
// with --exit-code); 2 usage or environment errors (bad flags, unreadable data dir,
// unreachable server). Errors are one clear line on stderr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace roster::tools {

struct VerifyArgs {
  std::string data_dir;
  std::string against;      // URL of a running server to compare heads with ("" = none)
  std::string service_key;  // for --against (ROSTER_SERVICE_KEY)
  bool json = false;        // machine-readable summary on stdout
};
int RunVerify(const VerifyArgs& args);

struct ReplayArgs {
  std::string data_dir;
  std::optional<uint64_t> until_position;
  std::string until;  // RFC 3339
  // The question: "check", "members", "access-review", "user-access", "access-history".
  std::string question;
  std::string principal, workspace, permission, market, set, account, resource;
  std::string from, to;  // access-review moments (RFC 3339)
  std::string user;
};
int RunReplay(const ReplayArgs& args);

struct ExportArgs {
  std::string data_dir;
  std::string format = "jsonl";  // jsonl | csv
  std::string output;            // "" or "-" = stdout
  std::string account, workspace, actor, subject, type, from, to;
};
int RunExport(const ExportArgs& args);

struct ImportArgs {
  std::string url;
  std::string file;
  std::string format;  // "" = by extension (.jsonl/.ndjson/.json → jsonl, .csv → csv)
  std::string service_key;
  std::string rejects;  // where to write rejected rows ("" = stderr summary only)
  int concurrency = 4;
};
int RunImport(const ImportArgs& args);

struct DemoArgs {
  std::string url;
  std::string service_key;
};
int RunDemo(const DemoArgs& args);

// The benchmark programs `roster bench` runs (build/bench/<name>_bench), in this order.
inline const std::vector<std::string>& BenchNames() {
  static const std::vector<std::string> names = {"events",      "storage", "commands",
                                                 "projections", "gateway", "gateway_load"};
  return names;
}

struct BenchArgs {
  std::string which;  // one of BenchNames() or "all"
  std::vector<std::string> passthrough;
};
int RunBench(const BenchArgs& args, const std::string& self_path);

// Prints "roster: <message>" to stderr and returns `code`.
int Fail(int code, const std::string& message);

}  // namespace roster::tools
