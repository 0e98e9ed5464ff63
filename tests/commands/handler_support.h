// Helpers for the CommandHandler tests: the Ok/Code shorthands over whichever handler a
// fixture owns, and counting events of one type in a store.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>

#include "commands/handler.h"
#include "storage/event_store.h"
#include "tests/commands/test_support.h"

namespace roster::commands::testing {

// Mixed into a fixture that owns a CommandHandler (it answers Handler()).
class HandlerCalls {
 protected:
  virtual ~HandlerCalls() = default;
  virtual CommandHandler& Handler() = 0;

  // Runs `c`, expecting success (the error is reported, an empty result returned).
  CommandResult Ok(const Command& c, const Actor& a = Svc(), const CommandMeta& m = {}) {
    auto r = Handler().Execute(c, a, m);
    EXPECT_TRUE(r.ok()) << r.error().ToString();
    return r.ok() ? *r : CommandResult{};
  }
  // Account a1 (owner "owner"), workspace w1 (standard), adm invited and accepted as admin.
  void SetUpAccountWithAdmin() {
    Ok(OpenAccount{"a1", "Acme", "standard", "global", "owner", Mail("owner")});
    Ok(CreateWorkspace{"a1", "w1", "One", "standard", {}}, U("owner"));
    auto inv = Ok(SendInvite{"w1", Mail("adm"), "admin", {}, {}}, U("owner"));
    Ok(AcceptInvite{inv.token}, U("adm"));
  }
  // The error code of running `c` (kOk when it succeeded).
  ErrorCode Code(const Command& c, const Actor& a = Svc(), const CommandMeta& m = {}) {
    auto r = Handler().Execute(c, a, m);
    return r.ok() ? ErrorCode::kOk : r.error().code();
  }
};

// `again` is the deduplicated answer of a repeated idempotency key: the first answer
// (`first`), token and positions included, flagged deduplicated.
inline void ExpectRepeatOf(const Result<CommandResult>& again, const CommandResult& first) {
  ASSERT_TRUE(again.ok()) << again.error().ToString() << " (must not be invite_pending)";
  EXPECT_TRUE(again->deduplicated);
  EXPECT_EQ(again->token, first.token);
  EXPECT_EQ(again->invitation_id, first.invitation_id);
  EXPECT_EQ(again->expires_at, first.expires_at);
  EXPECT_EQ(again->position, first.position);
  EXPECT_EQ(again->version, first.version);
  EXPECT_EQ(again->stream, first.stream);
  ASSERT_EQ(again->events.size(), first.events.size());
  for (size_t i = 0; i < first.events.size(); ++i) {
    EXPECT_EQ(again->events[i].position, first.events[i].position);
    EXPECT_EQ(again->events[i].type, first.events[i].type);
  }
}

// The number of events of `type` in the whole log of `store`.
inline size_t CountEvents(const storage::EventStore& store, events::EventType type) {
  size_t n = 0;
  Status st = store.Scan(1, 0, [&](const events::RecordedEvent& e) {
    n += e.envelope.type == type ? 1 : 0;
    return true;
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return n;
}

}  // namespace roster::commands::testing
