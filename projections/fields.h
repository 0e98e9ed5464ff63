// Small accessors shared by the projectors: which workspace an event names, and the
// overload helper for std::visit.
#pragma once

#include <string_view>
#include <variant>

#include "events/event_types.h"

namespace roster::projections {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// The event's workspace_id field, or "" for events that carry none.
inline std::string_view WorkspaceIdOf(const events::Event& event) {
  return std::visit(
      [](const auto& e) -> std::string_view {
        if constexpr (requires { e.workspace_id; }) {
          return e.workspace_id;
        } else {
          return {};
        }
      },
      event);
}

}  // namespace roster::projections
