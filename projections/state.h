// All projectors together, applied in a fixed order (catalog, access, team, audit), with
// the snapshot format and per-projector digests.
//
// Snapshot bytes (docs/projections.md): "RPRJ", then a varint format version (kFormatVersion in state.cc), the
// position, the four projector sections (length-prefixed), and a SHA-256 of everything
// before it. Every projector serializes canonically (hash maps in key order), so the
// section bytes are also what the digests hash: a projector rebuilt from zero has the
// same digest as the one maintained incrementally.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/crypto.h"
#include "base/status.h"
#include "projections/access.h"
#include "projections/audit.h"
#include "projections/catalog.h"
#include "projections/team.h"

namespace roster::projections {

struct Digests {
  Hash256 catalog{}, access{}, team{}, audit{};
  Hash256 all{};  // SHA-256 over the four
  friend bool operator==(const Digests&, const Digests&) = default;
};

class State {
 public:
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  // Applies the event at position() + 1 to every projector. The caller guarantees order.
  void Apply(const events::RecordedEvent& recorded);
  // Warms the cache lines Apply(recorded) will miss on; a catch-up calls it a few events
  // ahead of the one it applies.
  void Prefetch(const events::RecordedEvent& recorded) const { catalog.Prefetch(recorded); }
  uint64_t position() const { return catalog.position(); }
  // Sizes the per-position arrays for a log of `events` up front (a catch-up knows the
  // head): no reallocation copies and page faults of the doubled arrays on the way.
  void Reserve(uint64_t events) {
    catalog.Reserve(events);
    team.Reserve(events);
    audit.Reserve(events);
  }
  // A bulk catch-up (start-up, rebuild, replay): derived indexes that are cheaper to build
  // in one pass at the end (the audit position lists) wait for EndBulk. Queries in between
  // give the same answers (they scan what is not indexed yet).
  void BeginBulk(uint64_t head) {
    Reserve(head);
    audit.BeginBulk();
  }
  void EndBulk() { audit.EndBulk(); }

  // `expected_bytes`: the buffer to reserve (e.g. the previous snapshot's size), so a
  // large state is written without regrowing and copying its buffer. 0: grow as needed.
  std::string Serialize(size_t expected_bytes = 0) const;
  // Serialize without the trailing checksum, and Seal to append it: the checksum of a
  // 100 MiB state takes ~0.1 s, which the engine spends off the projector thread.
  std::string SerializeUnsealed(size_t expected_bytes = 0) const;
  static void Seal(std::string& unsealed);
  // kCorruption when the bytes are not a snapshot this version wrote (bad magic, version,
  // checksum, or a section that does not decode).
  static Result<std::unique_ptr<State>> Deserialize(std::string_view bytes);

  Digests Digest() const;

  Catalog catalog;
  Access access;
  Team team;
  Audit audit;
};

}  // namespace roster::projections
