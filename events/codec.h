// Bytes ⇄ events. The format is Cap'n Proto (events.capnp), documented in
// docs/event_format.md; every encoding is pinned by tests/events/golden_test.cc. Decoding never trusts its input: garbage yields a
// kCorruption status, never a crash (fuzzed in tests/events/codec_test.cc).
#pragma once

#include <string>
#include <string_view>

#include "base/crypto.h"
#include "base/status.h"
#include "events/event_types.h"

namespace roster::events {

// The event body as a flat single-segment Cap'n Proto message of its type's struct.
std::string EncodeEvent(const Event& event);

// Decodes a body written by EncodeEvent for `type`. kCorruption on garbage or an
// unknown type number.
Result<Event> DecodeEvent(EventType type, std::string_view payload);

// The canonical bytes of an envelope without its hash: what is stored and hashed.
std::string EncodeEnvelope(const Envelope& envelope);

// Decodes canonical envelope bytes. `hash` is left zero: it is stored beside the bytes.
Result<Envelope> DecodeEnvelope(std::string_view bytes);

// hash = SHA256(prev_hash ‖ canonical envelope bytes) (DESIGN.md "The event log").
inline Hash256 ChainHash(const Hash256& prev_hash, std::string_view canonical) {
  return Sha256(AsBytes(prev_hash), canonical);
}

// The envelope's fields as views into the canonical bytes, valid while those bytes are:
// for readers that check the chain or route by stream without copying anything.
struct EnvelopeView {
  uint64_t position = 0;
  std::string_view stream;
  uint64_t version = 0;
  EventType type = EventType::kAccountOpened;
  Micros recorded_at = 0;
  std::string_view actor;
  std::string_view correlation_id;
  std::string_view causation_id;
  std::string_view idempotency_key;
  std::string_view payload;  // EncodeEvent() bytes, for DecodeEvent/DecodeEventInto
  Hash256 prev_hash{};
};

// Reads canonical envelope bytes as DecodeEnvelope does (same errors), without copies.
Status ReadEnvelopeView(std::string_view canonical, EnvelopeView* out);

// Decodes envelope and body together.
Result<RecordedEvent> DecodeRecorded(std::string_view canonical, const Hash256& hash);

// The same decodes into an existing value, reusing its strings' capacity (and the
// event when it already holds the right type): the form for replay loops, which then
// allocate little or nothing per event. On error *out holds unspecified valid values.
Status DecodeRecordedInto(std::string_view canonical, const Hash256& hash, RecordedEvent* out);
Status DecodeEnvelopeInto(std::string_view bytes, Envelope* out);
Status DecodeEventInto(EventType type, std::string_view payload, Event* out);

// snake_case → camelCase, as capnp names our fields ("workspace_id" → "workspaceId").
std::string CamelCase(std::string_view snake);

}  // namespace roster::events
