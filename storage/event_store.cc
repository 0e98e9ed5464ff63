#include "storage/event_store.h"

namespace roster::storage {

// For stores without a cheaper way: each event is copied out of Scan's const view.
Status EventStore::ScanOwned(uint64_t from_position, uint64_t to_position,
                             const OwnedEventVisitor& visit) const {
  return Scan(from_position, to_position, [&](const events::RecordedEvent& event) {
    events::RecordedEvent copy = event;
    return visit(std::move(copy));
  });
}

}  // namespace roster::storage
