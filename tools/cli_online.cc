// Online subcommands: import and demo. Both talk to a running server through the HTTP API
// (never to the files), with idempotency keys so an interrupted run can simply be rerun.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "base/crypto.h"
#include "tools/cli.h"
#include "tools/http_client.h"
#include "tools/progress.h"

namespace roster::tools {
namespace {

namespace json = boost::json;

// ---- CSV (RFC 4180: quoted fields, doubled quotes, CRLF or LF) ----

bool ReadCsvRecord(std::istream& in, std::vector<std::string>* fields, size_t* lines) {
  fields->clear();
  std::string field;
  bool in_quotes = false, any = false;
  char c;
  while (in.get(c)) {
    any = true;
    if (in_quotes) {
      if (c == '"') {
        if (in.peek() == '"') {
          in.get(c);
          field += '"';
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++*lines;
        field += c;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == ',') {
      fields->push_back(std::move(field));
      field.clear();
    } else if (c == '\n') {
      ++*lines;
      break;
    } else if (c != '\r') {
      field += c;
    }
  }
  if (!any) return false;
  fields->push_back(std::move(field));
  return true;
}

// A CSV row as the JSON object of the same row in JSON Lines.
json::object CsvRowToObject(const std::vector<std::string>& header,
                            const std::vector<std::string>& fields) {
  json::object o;
  for (size_t i = 0; i < header.size() && i < fields.size(); ++i) {
    if (fields[i].empty()) continue;
    const std::string& name = header[i];
    if (name == "invite_ttl_seconds") {
      o[name] = std::strtoll(fields[i].c_str(), nullptr, 10);
    } else if (name == "owner_user_id" || name == "owner_email") {
      if (!o.contains("owner")) o["owner"] = json::object();
      o["owner"].as_object()[name.substr(6)] = fields[i];
    } else {
      o[name] = fields[i];
    }
  }
  return o;
}

std::string Str(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

struct Step {
  std::string method, target;
  json::object body;
  ApiClient::Headers headers;
};

// The API calls one row needs. Errors name the row's problem (→ reject report).
Result<std::vector<Step>> StepsFor(const json::object& row) {
  std::string kind = Str(row, "kind");
  auto pick = [&](std::initializer_list<const char*> keys) {
    json::object body;
    for (const char* k : keys) {
      if (const auto* v = row.if_contains(k)) body[k] = *v;
    }
    return body;
  };
  if (kind == "account") {
    return std::vector<Step>{{"POST", "/v1/accounts",
                              pick({"account_id", "name", "plan", "region", "owner"}), {}}};
  }
  if (kind == "workspace") {
    std::string a = Str(row, "account_id");
    if (a.empty()) return Error(ErrorCode::kInvalidField, "account_id: required for a workspace");
    return std::vector<Step>{{"POST", "/v1/accounts/" + a + "/workspaces",
                              pick({"workspace_id", "name", "template", "invite_ttl_seconds"}), {}}};
  }
  if (kind == "account_member") {
    std::string a = Str(row, "account_id");
    if (a.empty()) return Error(ErrorCode::kInvalidField, "account_id: required");
    return std::vector<Step>{
        {"POST", "/v1/accounts/" + a + "/members", pick({"user_id", "email", "role"}), {}}};
  }
  if (kind == "member") {
    // A workspace member joins as an invited user would: the service invites, then the
    // user (delegated with Roster-Actor) accepts the token from the first answer.
    std::string w = Str(row, "workspace_id");
    std::string user = Str(row, "user_id");
    std::string email = Str(row, "email");
    if (w.empty() || user.empty() || email.empty()) {
      return Error(ErrorCode::kInvalidField, "workspace_id, user_id and email: required for a member");
    }
    return std::vector<Step>{
        {"POST", "/v1/workspaces/" + w + "/invitations", pick({"email", "role", "access", "scope"}),
         {}},
        {"POST", "/v1/invitations/accept", json::object{}, {{"Roster-Actor", user},
                                                            {"Roster-Actor-Email", email}}}};
  }
  return Error(ErrorCode::kInvalidField,
               "kind: expected account, workspace, account_member or member, got \"" + kind + "\"");
}

}  // namespace

int RunImport(const ImportArgs& args) {
  std::ifstream in(args.file, std::ios::binary);
  if (!in) return Fail(2, "cannot read " + args.file);
  std::string format = args.format;
  if (format.empty()) {
    auto ends = [&](std::string_view suffix) {
      return args.file.size() >= suffix.size() &&
             args.file.compare(args.file.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    format = ends(".csv") ? "csv" : "jsonl";
  }
  if (format != "csv" && format != "jsonl") return Fail(2, "--format must be jsonl or csv");
  auto client = ApiClient::Create(args.url, args.service_key);
  if (!client.ok()) return Fail(2, client.error().message());
  HttpReply ping = (*client)->Call("GET", "/health");
  if (ping.status != 200) return Fail(2, "server at " + args.url + " is not answering: " + ping.error);

  std::ofstream rejects_file;
  if (!args.rejects.empty()) {
    rejects_file.open(args.rejects, std::ios::trunc);
    if (!rejects_file) return Fail(2, "cannot write " + args.rejects);
  }
  Progress progress("import", 0);
  uint64_t ok_rows = 0, repeated_rows = 0, rejected_rows = 0;
  std::vector<std::string> header;
  size_t line = 0;
  auto reject = [&](size_t at, const std::string& code, const std::string& detail) {
    ++rejected_rows;
    std::string msg = "line " + std::to_string(at) + ": " + code + ": " + detail;
    if (rejects_file) {
      rejects_file << msg << "\n";
    } else if (rejected_rows <= 20) {
      std::fprintf(stderr, "%s\n", msg.c_str());
    }
  };

  for (;;) {
    json::object row;
    size_t row_line = line + 1;
    std::string raw;
    if (format == "csv") {
      std::vector<std::string> fields;
      if (!ReadCsvRecord(in, &fields, &line)) break;
      if (header.empty()) {
        header = fields;
        continue;
      }
      if (fields.size() == 1 && fields[0].empty()) continue;
      row = CsvRowToObject(header, fields);
      raw = json::serialize(row);
    } else {
      if (!std::getline(in, raw)) break;
      ++line;
      if (raw.find_first_not_of(" \t\r") == std::string::npos) continue;
      boost::system::error_code ec;
      auto v = json::parse(raw, ec);
      if (ec || !v.is_object()) {
        reject(row_line, "malformed_json", "not a JSON object");
        progress.Add();
        continue;
      }
      row = v.as_object();
    }
    auto steps = StepsFor(row);
    if (!steps.ok()) {
      reject(row_line, std::string(steps.error().code_name()), steps.error().message());
      progress.Add();
      continue;
    }
    // The key is the row's content: rerunning the file (or a file holding the same row)
    // repeats the first answer instead of appending twice.
    std::string row_key = "import-" + ToHex(Sha256(raw)).substr(0, 40);
    std::string token;
    bool failed = false, all_repeats = true;
    for (size_t i = 0; i < steps->size() && !failed; ++i) {
      Step& s = (*steps)[i];
      if (s.target == "/v1/invitations/accept") s.body["token"] = token;
      auto headers = s.headers;
      headers.emplace_back("Idempotency-Key", row_key + "-" + std::to_string(i));
      HttpReply r = (*client)->Call(s.method, s.target, json::serialize(s.body), headers);
      if (r.status == 0) {
        progress.Finish();
        return Fail(2, "lost the server at line " + std::to_string(row_line) + ": " + r.error +
                           " (rerun the same command to resume)");
      }
      if (r.status >= 300) {
        auto j = r.Json();
        std::string detail = j.is_object() && j.as_object().contains("detail")
                                 ? std::string(j.as_object().at("detail").as_string())
                                 : r.body.substr(0, 200);
        reject(row_line, r.ProblemCode().empty() ? std::to_string(r.status) : r.ProblemCode(),
               detail);
        failed = true;
        break;
      }
      auto j = r.Json();
      if (j.is_object()) {
        token = Str(j.as_object(), "token").empty() ? token : Str(j.as_object(), "token");
        const auto* ev = j.as_object().if_contains("events");
        if (ev && ev->is_array() && !ev->as_array().empty()) all_repeats = false;
      }
    }
    if (!failed) {
      ++ok_rows;
      if (all_repeats) ++repeated_rows;
    }
    progress.Add();
  }
  progress.Finish();
  std::fprintf(stderr, "import: %llu rows ok (%llu already present), %llu rejected, %.0f rows/s\n",
               static_cast<unsigned long long>(ok_rows),
               static_cast<unsigned long long>(repeated_rows),
               static_cast<unsigned long long>(rejected_rows), progress.Rate());
  if (rejected_rows > 0 && !args.rejects.empty()) {
    std::fprintf(stderr, "import: rejected rows are listed in %s\n", args.rejects.c_str());
  }
  return rejected_rows == 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------

namespace {

class Seeder {
 public:
  Seeder(ApiClient& client) : client_(client) {}

  // A command as the service (or as `user` when given); stops the demo on failure.
  json::object Call(std::string_view method, const std::string& target, json::object body,
                    const std::string& user = "", const std::string& email = "") {
    ApiClient::Headers headers{{"Idempotency-Key", "demo-" + std::to_string(step_++)}};
    if (!user.empty()) {
      headers.emplace_back("Roster-Actor", user);
      headers.emplace_back("Roster-Actor-Email", email);
    }
    HttpReply r = client_.Call(method, target, json::serialize(body), headers);
    if (r.status < 200 || r.status >= 300) {
      throw std::runtime_error(std::string(method) + " " + target + " answered " +
                               std::to_string(r.status) + " " + r.body.substr(0, 300) + r.error);
    }
    ++calls_;
    auto j = r.Json();
    return j.is_object() ? j.as_object() : json::object();
  }
  int calls() const { return calls_; }

 private:
  ApiClient& client_;
  int step_ = 0;
  int calls_ = 0;
};

}  // namespace

int RunDemo(const DemoArgs& args) {
  auto client = ApiClient::Create(args.url, args.service_key);
  if (!client.ok()) return Fail(2, client.error().message());
  Seeder s(**client);
  std::string spring, orders_ws, program_ws, partner_ok, partner_paused, link_token;
  try {
    auto owner = [](const char* id, const char* email) {
      return json::object{{"user_id", id}, {"email", email}};
    };
    // Stackcess-style content team: standard template, wizard invitations, a link, partners.
    s.Call("POST", "/v1/accounts", {{"account_id", "acme"}, {"name", "Acme Content"},
                                    {"plan", "standard"}, {"region", "eu"},
                                    {"owner", owner("ana", "ana@acme.example")}});
    s.Call("POST", "/v1/accounts/acme/members",
           {{"user_id", "eve"}, {"email", "eve@acme.example"}, {"role", "admin"}});
    spring = Str(s.Call("POST", "/v1/accounts/acme/workspaces",
                        {{"workspace_id", "spring-catalogue"}, {"name", "Spring Catalogue"},
                         {"template", "standard"}}),
                 "workspace_id");
    auto bo = s.Call("POST", "/v1/workspaces/" + spring + "/invitations",
                     {{"email", "bo@acme.example"}, {"role", "editor"},
                      {"access", {{"products", "edit"}, {"assets", "view"}, {"share_links", "none"}}},
                      {"scope", {{"markets", json::array{"DE", "FR"}}, {"sets", json::array{"spring-24"}}}}},
                     "ana", "ana@acme.example");
    s.Call("POST", "/v1/invitations/accept", {{"token", Str(bo, "token")}}, "bo", "bo@acme.example");
    s.Call("POST", "/v1/workspaces/" + spring + "/invitations",
           {{"email", "cy@acme.example"}, {"role", "viewer"}}, "ana", "ana@acme.example");
    link_token = Str(s.Call("PUT", "/v1/workspaces/" + spring + "/invite-link", {{"role", "viewer"}},
                            "ana", "ana@acme.example"),
                     "token");
    s.Call("POST", "/v1/invite-links/join", {{"token", link_token}}, "dan", "dan@freelance.example");
    s.Call("PATCH", "/v1/workspaces/" + spring + "/members/dan", {{"role", "editor"}}, "ana",
           "ana@acme.example");
    // A short-lived invitation in its own workspace: it shows as expired a minute from now.
    s.Call("POST", "/v1/accounts/acme/workspaces",
           {{"workspace_id", "quick-trials"}, {"name", "Quick Trials"}, {"template", "standard"},
            {"invite_ttl_seconds", 60}});
    s.Call("POST", "/v1/workspaces/quick-trials/invitations",
           {{"email", "late@acme.example"}, {"role", "viewer"}});

    // Partner organisations: one active with sets, one suspended.
    s.Call("POST", "/v1/accounts", {{"account_id", "retail-partners"}, {"name", "Retail Partners GmbH"},
                                    {"plan", "partner"}, {"region", "eu"},
                                    {"owner", owner("rita", "rita@retail.example")}});
    s.Call("POST", "/v1/accounts", {{"account_id", "distri"}, {"name", "Distri SA"},
                                    {"plan", "partner"}, {"region", "eu"},
                                    {"owner", owner("dora", "dora@distri.example")}});
    partner_ok = Str(s.Call("POST", "/v1/workspaces/" + spring + "/partners",
                            {{"partner_account_id", "retail-partners"}, {"access_level", "download"},
                             {"sets", json::array{"spring-24", "summer-24"}}}),
                     "partner_id");
    s.Call("POST", "/v1/partners/" + partner_ok + "/accept", {}, "rita", "rita@retail.example");
    partner_paused = Str(s.Call("POST", "/v1/workspaces/" + spring + "/partners",
                                {{"partner_account_id", "distri"}, {"access_level", "view"},
                                 {"sets", json::array{"spring-24"}}}),
                         "partner_id");
    s.Call("POST", "/v1/partners/" + partner_paused + "/accept", {}, "dora", "dora@distri.example");
    s.Call("POST", "/v1/partners/" + partner_paused + "/suspend", {{"reason", "contract renewal"}});

    // StackCube-style order desk: orders template, 72 h invitations, market scope.
    s.Call("POST", "/v1/accounts", {{"account_id", "stackcube"}, {"name", "StackCube Foods"},
                                    {"plan", "enterprise"}, {"region", "global"},
                                    {"owner", owner("olga", "olga@stackcube.example")}});
    orders_ws = Str(s.Call("POST", "/v1/accounts/stackcube/workspaces",
                           {{"workspace_id", "orders-de"}, {"name", "Orders DE"}, {"template", "orders"}}),
                    "workspace_id");
    for (auto [user, email, role] : {std::tuple{"rev", "rev@stackcube.example", "reviewer"},
                                     std::tuple{"app", "app@stackcube.example", "approver"},
                                     std::tuple{"adm", "adm@stackcube.example", "admin"}}) {
      auto inv = s.Call("POST", "/v1/workspaces/" + orders_ws + "/invitations",
                        {{"email", email}, {"role", role}, {"scope", {{"markets", json::array{"DE"}}}}});
      s.Call("POST", "/v1/invitations/accept", {{"token", Str(inv, "token")}}, user, email);
    }
    // The same person in a second workspace with another role (multi-entity).
    s.Call("POST", "/v1/accounts/stackcube/workspaces",
           {{"workspace_id", "orders-at"}, {"name", "Orders AT"}, {"template", "orders"}});
    auto multi = s.Call("POST", "/v1/workspaces/orders-at/invitations",
                        {{"email", "rev@stackcube.example"}, {"role", "admin"}});
    s.Call("POST", "/v1/invitations/accept", {{"token", Str(multi, "token")}}, "rev",
           "rev@stackcube.example");

    // PartnerStack-style program with teammates.
    s.Call("POST", "/v1/accounts", {{"account_id", "program"}, {"name", "Partner Program Inc"},
                                    {"plan", "standard"}, {"region", "global"},
                                    {"owner", owner("pam", "pam@program.example")}});
    program_ws = Str(s.Call("POST", "/v1/accounts/program/workspaces",
                            {{"workspace_id", "program-main"}, {"name", "Program"},
                             {"template", "partner_program"}}),
                     "workspace_id");
    s.Call("PUT", "/v1/workspaces/" + program_ws + "/roles/custom",
           {{"permissions", json::array{"customers.view", "partners.view", "financial.view"}}});
    auto tm = s.Call("POST", "/v1/workspaces/" + program_ws + "/invitations",
                     {{"email", "tess@program.example"}, {"role", "technical_teammate"}});
    s.Call("POST", "/v1/invitations/accept", {{"token", Str(tm, "token")}}, "tess", "tess@program.example");

    // Stape-style shared access between two standard accounts in one region.
    s.Call("POST", "/v1/accounts", {{"account_id", "sam-co"}, {"name", "Sam & Co"},
                                    {"plan", "standard"}, {"region", "global"},
                                    {"owner", owner("sam", "sam@samco.example")}});
    s.Call("POST", "/v1/accounts/program/shares",
           {{"grantee_user_id", "sam"}, {"grantee_account_id", "sam-co"},
            {"containers", "all"}, {"billing", true}});
  } catch (const std::exception& e) {
    return Fail(1, std::string("demo stopped: ") + e.what());
  }
  const std::string key = "$ROSTER_SERVICE_KEY";
  std::printf("demo: %d commands applied (rerunning is safe: every call has an idempotency key)\n\n",
              s.calls());
  std::printf("Try next (export ROSTER_SERVICE_KEY=<the key from the data dir's service.key>):\n\n");
  const std::string base = "curl -s -H \"Authorization: Bearer " + key + "\" " + args.url;
  std::printf("  # why may bo edit products in DE?\n  %s'/v1/check?principal=bo&workspace=%s&permission=products.edit&market=DE'\n\n",
              base.c_str(), spring.c_str());
  std::printf("  # members, pending invitations, the link card\n  %s/v1/workspaces/%s/members\n  %s'/v1/workspaces/%s/invitations?status=all'\n  %s/v1/workspaces/%s/invite-link\n\n",
              base.c_str(), spring.c_str(), base.c_str(), spring.c_str(), base.c_str(), spring.c_str());
  std::printf("  # the suspended partner keeps its sets but loses access\n  %s/v1/partners/%s\n  %s'/v1/check?principal=dora&workspace=%s&permission=assets.view&set=spring-24'\n\n",
              base.c_str(), partner_paused.c_str(), base.c_str(), spring.c_str());
  std::printf("  # one person, two workspaces, two roles\n  %s/v1/users/rev/access\n\n", base.c_str());
  std::printf("  # who can approve orders in DE?\n  %s'/v1/workspaces/%s/access?permission=orders.approve'\n\n",
              base.c_str(), orders_ws.c_str());
  std::printf("  # the audit trail and the chain\n  %s'/v1/audit?workspace=%s&limit=5'\n  %s/v1/ledger/verify\n",
              base.c_str(), spring.c_str(), base.c_str());
  return 0;
}

}  // namespace roster::tools
