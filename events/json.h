// JSON rendering of events and envelopes for the API, the audit trail and exports.
// Field names are the snake_case names of event_types.h; binary fields render as hex;
// fields whose name ends in "_at" render as RFC 3339 text. Personal data is not here:
// email keys stay keys, and readers resolve subjects through the PII vault.
#pragma once

#include <boost/json/object.hpp>

#include "events/event_types.h"

namespace roster::events {

// {"workspace_id": "...", ...} — the event body.
boost::json::object EventToJson(const Event& event);

// The envelope with its decoded body: {position, stream, version, type, recorded_at,
// actor, correlation_id, causation_id, idempotency_key, payload: {...}, prev_hash, hash}.
boost::json::object RecordedToJson(const RecordedEvent& recorded);

}  // namespace roster::events
