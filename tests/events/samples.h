// Sample events shared by the codec tests: one fully populated value of every type,
// plus edge cases (defaults, partial scopes, long and odd strings).
#pragma once

#include <string>
#include <vector>

#include "events/event_types.h"

namespace roster::events::testing {

// One fully populated sample of every event type, so round trips cover every field.
inline std::vector<Event> Samples() {
  Bytes key{std::string(32, '\x07')};
  Bytes token{std::string(32, '\x09')};
  AccessMap access{{"products", "edit"}, {"assets", "none"}};
  Scope scope{{"DE", "FR"}, {"spring"}, {"g1"}};
  return {
      AccountOpened{"a1", "Acme", "standard", "eu", "u1", key, "sub_1"},
      AccountMemberAdded{"u2", key, "sub_2", "admin"},
      AccountMemberRoleChanged{"u2", "admin", "viewer"},
      AccountMemberRemoved{"u2", "viewer"},
      WorkspaceCreated{"w1", "Spring", "standard", 604800},
      RoleDefined{"w1", "auditor", {"audit.view", "-billing.*"}},
      RoleChanged{"w1", "u3", "viewer", "editor"},
      AccessChanged{"w1", "u3", access},
      ScopeChanged{"w1", "u3", scope},
      MemberRemoved{"w1", "u3", "editor"},
      InviteSent{"w1", "i1", key, "sub_3", "editor", access, scope, token, 1790000000000000},
      InviteResent{"w1", "i1", token, 1790000000000001},
      InviteCancelled{"w1", "i1"},
      InviteAccepted{"w1", "i1", "u3", key, "sub_3", "editor", access, scope},
      InviteSuperseded{"w1", "i1", "i2"},
      LinkCreated{"w1", "viewer", token},
      LinkRoleChanged{"w1", "viewer", "editor"},
      LinkRegenerated{"w1", token},
      LinkDisabled{"w1"},
      LinkJoined{"w1", "u4", key, "sub_4", "viewer"},
      PartnerInvited{"w1", "p1", "a9", "download", {"s1", "s2"}},
      PartnerAccepted{"w1", "p1", "u9"},
      PartnerAccessChanged{"w1", "p1", "download", "edit"},
      PartnerSetsAssigned{"w1", "p1", {"s3"}},
      PartnerSetsRevoked{"w1", "p1", {"s1"}},
      PartnerSuspended{"w1", "p1", "late payment"},
      PartnerResumed{"w1", "p1", "paid"},
      PartnerRevoked{"w1", "p1", "contract ended"},
      SharedAccessGranted{"u7", "a7", false, {"c1", "c2"}, true},
      SharedAccessRemoved{"u7"},
      SharedAccessRetired{"u7"},
      SubjectErased{key, 1},
  };
}

// A default-constructed value of every type (empty text, lists and scopes, zeros).
template <size_t... I>
std::vector<Event> DefaultsOf(std::index_sequence<I...>) {
  return {Event(std::in_place_index<I>)...};
}
inline std::vector<Event> Defaults() {
  return DefaultsOf(std::make_index_sequence<std::variant_size_v<Event>>());
}

// Shapes the full samples miss: partial scopes, one-entry maps, empty strings inside
// lists, long and non-ASCII text, embedded NUL bytes, extreme integers.
inline std::vector<Event> EdgeCases() {
  std::string long_text(300, 'x');
  return {
      ScopeChanged{"w1", "u3", Scope{{}, {"only-sets"}, {}}},
      ScopeChanged{"w1", "u3", Scope{{}, {}, {"g1", "g2", "g3"}}},
      AccessChanged{"w1", "u3", AccessMap{{"billing", "manage"}}},
      InviteSent{"w-ü", "", Bytes{std::string("\0\1\2", 3)}, "sub", "r", {}, Scope{{"DE"}, {}, {}},
                 Bytes{}, -1},
      RoleDefined{"w1", long_text, {"", "a", long_text}},
      PartnerSuspended{"w1", "p1", std::string("nul\0inside", 10)},
      WorkspaceCreated{"w1", "n", "t", INT64_MIN},
      SharedAccessGranted{"u7", "", true, {}, false},
      SubjectErased{Bytes{std::string(64, '\xff')}, UINT32_MAX},
  };
}

// Envelopes: fully populated, minimal (optional text empty), and one whose text
// outgrows the first builder segment (so its flat array has two segments).
inline std::vector<Envelope> SampleEnvelopes() {
  std::vector<Envelope> out;
  Envelope full;
  full.position = 42;
  full.stream = "account-a1";
  full.version = 3;
  full.type = EventType::kInviteSent;
  full.recorded_at = 1790000000123456;
  full.actor = "user:u1";
  full.correlation_id = "req-1";
  full.causation_id = "evt-41";
  full.idempotency_key = "k1";
  full.payload = std::string(8 * 20, '\x5a');
  full.prev_hash.fill(3);
  out.push_back(full);
  Envelope minimal;
  minimal.position = 1;
  minimal.stream = "privacy";
  minimal.version = 1;
  minimal.type = EventType::kSubjectErased;
  minimal.payload = std::string(16, '\x01');
  out.push_back(minimal);
  Envelope big = full;
  big.position = UINT64_MAX;
  big.version = UINT64_MAX;
  big.recorded_at = -5;
  big.actor = std::string(600, 'a');  // beyond the builder's first segment
  big.payload = std::string(8 * 40, '\x11');
  big.prev_hash.fill(0xee);
  out.push_back(big);
  return out;
}

}  // namespace roster::events::testing
