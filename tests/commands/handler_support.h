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
  // The error code of running `c` (kOk when it succeeded).
  ErrorCode Code(const Command& c, const Actor& a = Svc(), const CommandMeta& m = {}) {
    auto r = Handler().Execute(c, a, m);
    return r.ok() ? ErrorCode::kOk : r.error().code();
  }
};

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
