// The bytes a command stores as its idempotency payload (AppendRequest::
// idempotency_payload), so a repeat with the same Idempotency-Key — also after a restart —
// answers exactly what the first request answered, including a fresh token.
//
// Format (version 1): a 1-byte version, then the CommandResult's outputs and the appended
// event types, each string as varint length + bytes, each integer as a varint. Positions
// and the stream version are NOT stored: the store returns them with a deduplicated append.
// Note: the payload holds a fresh token in plaintext (as the first response did); it lives
// in the store's idempotency records, never in an event.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "commands/commands.h"

namespace roster::commands {

std::string EncodeResultPayload(const CommandResult& result);

// Decodes a payload into *out (outputs, stream, and events with types but position 0).
// kCorruption on garbage.
Status DecodeResultPayload(std::string_view bytes, CommandResult* out);

}  // namespace roster::commands
