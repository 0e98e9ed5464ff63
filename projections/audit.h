// The audit projector: one row per event (account, workspace, actor, subject, type) and
// a sorted position list per filter value, so a filtered page is answered from the most
// selective list without scanning the log.
//
// The position lists are derived and kept in three parts, in position order:
//   - sealed: positions 1..sealed_ in one flat array per filter (CSR: an offset per value),
//     built by a counting sort over the rows (Seal: sequential, ~tens of ms per 1M rows);
//   - live: positions sealed_+1..indexed_, one small vector per value (the live tail);
//   - unindexed: positions indexed_+1..end, during a bulk catch-up (BeginBulk): only the
//     row is written per event, and a query scans these rows. EndBulk (or the next live
//     Apply) seals everything.
// Every answer is the same whichever part holds a position. Entries are rendered at read time from the
// event itself (read back from the store) and the catalog: summaries and data resolve
// emails through the vault then, so erasure shows everywhere at once.
#pragma once

#include <unordered_map>
#include <vector>

#include "projections/catalog.h"

namespace roster::projections {

struct AuditRow {
  uint32_t account = kNone;    // catalog account id
  uint32_t workspace = kNone;  // catalog workspace id
  uint32_t actor = kNone;      // catalog label id
  uint32_t subject = kNone;    // Audit::subjects() id
  uint16_t type = 0;
};

// A filter resolved to ids. A dimension is ignored when its `use_*` flag is false.
struct AuditSelector {
  bool use_account = false, use_workspace = false, use_actor = false, use_subject = false,
       use_type = false;
  uint32_t account = kNone, workspace = kNone, actor = kNone, subject = kNone;
  uint16_t type = 0;
  uint64_t from_position = 1;  // inclusive
  uint64_t to_position = 0;    // inclusive
};

class Audit {
 public:
  Audit() = default;
  Audit(const Audit&) = delete;
  Audit& operator=(const Audit&) = delete;

  // After the catalog has applied the same event.
  void Apply(const events::RecordedEvent& recorded, const Catalog& catalog, const EventIds& ids);

  // The subject of an event: the principal or object it is about (user id, invitation id,
  // partner id, workspace id, role name; the email key's hex for SubjectErased, written
  // into *scratch). The view points into `event` or *scratch.
  static std::string_view SubjectOf(const events::Event& event, std::string* scratch);

  const Interner& subjects() const { return subjects_; }
  const AuditRow& row(uint64_t position) const { return rows_[position - 1]; }
  // Room for `events` rows (a catch-up knows the log's head).
  void Reserve(uint64_t events) { rows_.reserve(events); }
  // A bulk catch-up: Apply writes rows only until EndBulk seals the position lists.
  void BeginBulk() { bulk_ = true; }
  void EndBulk() {
    bulk_ = false;
    Seal();
  }

  // Positions matching `s`, ascending from `s.from_position`, at most `limit`; *more is set
  // when another match follows (its position in *next).
  std::vector<uint64_t> Select(const AuditSelector& s, size_t limit, bool* more,
                               uint64_t* next) const;
  // Positions by `actor`, descending from `before` (exclusive; 0 = from the newest).
  std::vector<uint64_t> ByActorNewestFirst(uint32_t actor, uint64_t before, size_t limit,
                                           bool* more, uint64_t* next) const;

  void Save(Writer& w) const;
  // Loads into a freshly constructed Audit.
  bool Load(Reader& r);

 private:
  // One filter dimension's position lists (see the top of this file).
  struct Lists {
    BigVector<uint32_t> offsets;  // sealed: positions of value v at [offsets[v], offsets[v+1])
    BigVector<uint32_t> sealed;
    std::vector<std::vector<uint64_t>> live;  // by value: positions after the sealed ones
    size_t Count(uint32_t v) const;
    void Add(uint32_t v, uint64_t p) {
      if (v == kNone) return;
      if (v >= live.size()) live.resize(std::max<size_t>(v + 1, live.size() * 3 / 2));
      live[v].push_back(p);
    }
  };
  // The five dimensions, with a row's value in each.
  template <class F>
  void ForEachDimension(F&& f);

  void Index(uint64_t position, const AuditRow& row);  // into the live lists
  void Seal();  // every row into the sealed lists
  uint32_t SubjectId(std::string_view subject, const Catalog& c, const EventIds& ids);
  bool Matches(const AuditRow& row, const AuditSelector& s) const;

  Interner subjects_;
  BigVector<AuditRow> rows_;  // rows_[p-1]
  Lists by_account_, by_workspace_, by_actor_, by_subject_, by_type_;
  uint64_t sealed_ = 0;   // positions 1..sealed_ are in the sealed lists
  uint64_t indexed_ = 0;  // positions sealed_+1..indexed_ in the live lists
  bool bulk_ = false;
  // Derived caches (filled lazily, not saved): the subject id of a catalog user / label /
  // workspace id, so most events find their subject by index instead of by hashing.
  std::vector<uint32_t> user_subject_, label_subject_, workspace_subject_;
};

}  // namespace roster::projections
