#include "gateway/router.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <map>

#include <boost/json/array.hpp>

namespace roster::gateway {

namespace {

[[noreturn]] void BadRoute(std::string_view pattern, std::string_view why) {
  std::fprintf(stderr, "router: bad route %.*s: %.*s\n", static_cast<int>(pattern.size()),
               pattern.data(), static_cast<int>(why.size()), why.data());
  std::abort();
}

bool ValidParamName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

// Raw path → segments ("/a/b" → {"a","b"}; "/" → {""}).
std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Canonical order for Allow headers and docs.
constexpr Method kMethodOrder[] = {Method::kGet,   Method::kHead,   Method::kPost,
                                   Method::kPut,   Method::kPatch,  Method::kDelete,
                                   Method::kOptions};

}  // namespace

struct Router::Pattern {
  struct Segment {
    bool is_param = false;
    std::string text;  // the literal, or the parameter name
  };
  std::string text;
  std::vector<Segment> segments;
  std::map<Method, std::unique_ptr<Route>> routes;

  // True when the decoded segments fit; fills params.
  bool Matches(const std::vector<std::string>& decoded, PathParams* params) const {
    if (decoded.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].is_param) {
        if (decoded[i].empty()) return false;
      } else if (segments[i].text != decoded[i]) {
        return false;
      }
    }
    if (params != nullptr) {
      for (size_t i = 0; i < segments.size(); ++i) {
        if (segments[i].is_param) params->Add(segments[i].text, decoded[i]);
      }
    }
    return true;
  }

  // Literal segments sort before parameters, position by position.
  static bool MoreSpecific(const Pattern& a, const Pattern& b) {
    size_t n = std::min(a.segments.size(), b.segments.size());
    for (size_t i = 0; i < n; ++i) {
      if (a.segments[i].is_param != b.segments[i].is_param) return !a.segments[i].is_param;
    }
    return a.segments.size() < b.segments.size();
  }
};

std::string_view PathParams::Get(std::string_view name) const {
  for (const auto& [k, v] : params_) {
    if (k == name) return v;
  }
  assert(false && "PathParams::Get of a parameter the pattern does not declare");
  return {};
}

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(Method method, std::string_view pattern, RouteInfo info, Handler handler) {
  if (method == Method::kHead || method == Method::kOther) {
    BadRoute(pattern, "HEAD and unknown methods cannot be registered");
  }
  if (!handler) BadRoute(pattern, "no handler");
  if (pattern.empty() || pattern.front() != '/') BadRoute(pattern, "must start with '/'");
  std::vector<Pattern::Segment> segments;
  std::vector<std::string> names;
  for (std::string_view s : Split(pattern)) {
    Pattern::Segment seg;
    if (s.size() >= 2 && s.front() == '{' && s.back() == '}') {
      seg.is_param = true;
      seg.text = std::string(s.substr(1, s.size() - 2));
      if (!ValidParamName(seg.text)) BadRoute(pattern, "bad parameter name");
      if (std::find(names.begin(), names.end(), seg.text) != names.end()) {
        BadRoute(pattern, "duplicate parameter name");
      }
      names.push_back(seg.text);
    } else {
      if (s.find_first_of("{}%?#") != std::string_view::npos) {
        BadRoute(pattern, "literal segments must be plain text");
      }
      if (s.empty() && pattern != "/") BadRoute(pattern, "empty segment");
      seg.text = std::string(s);
    }
    segments.push_back(std::move(seg));
  }

  Pattern* target = nullptr;
  for (auto& p : patterns_) {
    if (p->text == pattern) target = p.get();
  }
  if (target == nullptr) {
    auto p = std::make_unique<Pattern>();
    p->text = std::string(pattern);
    p->segments = std::move(segments);
    target = p.get();
    patterns_.push_back(std::move(p));
    std::stable_sort(patterns_.begin(), patterns_.end(),
                     [](const auto& a, const auto& b) { return Pattern::MoreSpecific(*a, *b); });
  }
  if (target->routes.count(method) != 0) BadRoute(pattern, "registered twice for this method");
  auto route = std::make_unique<Route>();
  route->method = method;
  route->pattern = std::string(pattern);
  route->info = std::move(info);
  route->handler = std::move(handler);
  order_.push_back(route.get());
  target->routes.emplace(method, std::move(route));
}

RouteMatch Router::Match(Method method, std::string_view raw_path) const {
  RouteMatch m;
  m.pattern = "unmatched";
  std::vector<std::string_view> raw = Split(raw_path);
  std::vector<std::string> decoded;
  decoded.reserve(raw.size());
  for (std::string_view s : raw) {
    std::string d;
    if (!PercentDecode(s, false, &d)) {
      m.error = Error(ErrorCode::kNotFound, "no resource at this path");
      return m;
    }
    decoded.push_back(std::move(d));
  }
  Method lookup = method == Method::kHead ? Method::kGet : method;

  std::vector<const Pattern*> matching;
  for (const auto& p : patterns_) {
    if (p->Matches(decoded, nullptr)) matching.push_back(p.get());
  }
  if (matching.empty()) {
    m.error = Error(ErrorCode::kNotFound, "no resource at this path");
    return m;
  }
  m.pattern = matching.front()->text;
  for (const Pattern* p : matching) {
    auto it = p->routes.find(lookup);
    if (it == p->routes.end()) continue;
    m.pattern = p->text;
    PathParams params;
    p->Matches(decoded, &params);
    for (const auto& [name, value] : params.all()) {
      if (value.size() > kMaxPathParamBytes) {
        m.error = Error(ErrorCode::kInvalidField, "path parameter `" + name + "` is longer than " +
                                                      std::to_string(kMaxPathParamBytes) +
                                                      " bytes");
        return m;
      }
      for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7f) {
          m.error = Error(ErrorCode::kInvalidField,
                          "path parameter `" + name + "` contains a control character");
          return m;
        }
      }
    }
    m.route = it->second.get();
    m.params = std::move(params);
    return m;
  }
  std::vector<Method> allowed = AllowedMethods(raw_path);
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i > 0) m.allow += ", ";
    m.allow += MethodName(allowed[i]);
  }
  std::string what = method == Method::kOther ? std::string("this method")
                                               : "method " + std::string(MethodName(method));
  m.error = Error(ErrorCode::kMethodNotAllowed, what + " is not allowed here; allowed: " + m.allow);
  return m;
}

std::vector<Method> Router::AllowedMethods(std::string_view raw_path) const {
  std::vector<std::string> decoded;
  for (std::string_view s : Split(raw_path)) {
    std::string d;
    if (!PercentDecode(s, false, &d)) return {};
    decoded.push_back(std::move(d));
  }
  std::vector<Method> out;
  for (Method m : kMethodOrder) {
    Method lookup = m == Method::kHead ? Method::kGet : m;
    for (const auto& p : patterns_) {
      if (p->routes.count(lookup) != 0 && p->Matches(decoded, nullptr)) {
        out.push_back(m);
        break;
      }
    }
  }
  return out;
}

std::vector<const Route*> Router::routes() const { return order_; }

namespace {

std::string LowerMethod(Method m) {
  std::string s(MethodName(m));
  for (char& c : s) c = static_cast<char>(c - 'A' + 'a');
  return s;
}

boost::json::object ProblemSchema() {
  boost::json::object props;
  props["type"] = {{"type", "string"}, {"format", "uri"}};
  props["title"] = {{"type", "string"}};
  props["status"] = {{"type", "integer"}};
  props["code"] = {{"type", "string"},
                   {"description", "Machine-readable error code (API.md), e.g. invite_pending"}};
  props["detail"] = {{"type", "string"}, {"description", "Names the offending field"}};
  boost::json::object schema;
  schema["type"] = "object";
  schema["required"] = boost::json::array{"type", "title", "status", "code", "detail"};
  schema["properties"] = std::move(props);
  schema["additionalProperties"] = true;
  return schema;
}

}  // namespace

boost::json::object Router::OpenApi(const OpenApiInfo& info) const {
  boost::json::object paths;
  for (const Route* r : order_) {
    boost::json::object op;
    op["summary"] = r->info.summary;
    op["operationId"] = LowerMethod(r->method) + r->pattern;
    if (!r->info.tag.empty()) op["tags"] = boost::json::array{boost::json::string(r->info.tag)};

    boost::json::array params;
    for (const auto& seg : Split(r->pattern)) {
      if (seg.size() >= 2 && seg.front() == '{') {
        boost::json::object p;
        p["name"] = seg.substr(1, seg.size() - 2);
        p["in"] = "path";
        p["required"] = true;
        p["schema"] = {{"type", "string"},
                       {"minLength", 1},
                       {"maxLength", static_cast<int64_t>(kMaxPathParamBytes)}};
        params.push_back(std::move(p));
      }
    }
    for (const ParamDoc& q : r->info.query) {
      boost::json::object p;
      p["name"] = q.name;
      p["in"] = "query";
      p["required"] = q.required;
      if (!q.description.empty()) p["description"] = q.description;
      p["schema"] = {{"type", q.type}};
      params.push_back(std::move(p));
    }
    if (!params.empty()) op["parameters"] = std::move(params);

    if (!r->info.request_body.empty()) {
      op["requestBody"] = {
          {"required", true},
          {"description", r->info.request_body},
          {"content", {{"application/json", {{"schema", {{"type", "object"}}}}}}}};
    }

    switch (r->info.auth) {
      case AuthRequirement::kNone:
        op["security"] = boost::json::array{};
        break;
      case AuthRequirement::kAny:
        op["security"] = boost::json::array{boost::json::object{{"bearer", boost::json::array{}}}};
        break;
      case AuthRequirement::kService:
        op["security"] = boost::json::array{boost::json::object{{"bearer", boost::json::array{}}}};
        op["x-roster-service-only"] = true;
        break;
    }

    boost::json::object responses;
    boost::json::object ok;
    ok["description"] = std::string(ReasonPhrase(r->info.success_status));
    ok["content"] = {{r->info.response_type, {{"schema", boost::json::object{}}}}};
    responses[std::to_string(r->info.success_status)] = std::move(ok);
    boost::json::object problem_ref = {{"$ref", "#/components/responses/Problem"}};
    responses["default"] = problem_ref;
    op["responses"] = std::move(responses);

    boost::json::value& item = paths[r->pattern];
    if (!item.is_object()) item.emplace_object();
    item.as_object()[LowerMethod(r->method)] = std::move(op);
  }

  boost::json::object doc;
  doc["openapi"] = "3.1.0";
  boost::json::object info_obj;
  info_obj["title"] = info.title;
  info_obj["version"] = info.version;
  if (!info.description.empty()) info_obj["description"] = info.description;
  doc["info"] = std::move(info_obj);
  doc["paths"] = std::move(paths);
  boost::json::object components;
  components["schemas"] = {{"Problem", ProblemSchema()}};
  components["responses"] = {
      {"Problem",
       {{"description", "An RFC 9457 problem"},
        {"content",
         {{"application/problem+json",
           {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}}}};
  components["securitySchemes"] = {
      {"bearer",
       {{"type", "http"},
        {"scheme", "bearer"},
        {"description",
         "The service key (optionally with Roster-Actor and Roster-Actor-Email headers), "
         "or a user JWT signed HS256"}}}};
  doc["components"] = std::move(components);
  return doc;
}

}  // namespace roster::gateway
