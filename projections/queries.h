// Read-side queries over one State: the team views, audit pages and the access queries'
// id resolution. Borrowed references only: the caller (Engine) holds the State's lock
// for the whole call. Emails are resolved here, through the vault, at read time.
#pragma once

#include <functional>
#include <string_view>

#include "base/status.h"
#include "projections/state.h"
#include "projections/views.h"
#include "storage/event_store.h"

namespace roster::projections {

class Queries {
 public:
  // `store` is used to read events back (audit entries) and `vault` to resolve emails;
  // both must outlive this object.
  Queries(const State& state, const storage::EventStore& store, const storage::PiiVault& vault)
      : s_(state), store_(store), vault_(vault) {}

  // ---- Access (p: the resolved position; p == state.position() uses the live path) ----
  Decision Check(std::string_view principal, std::string_view permission,
                 std::string_view workspace, const Where& where, uint64_t p) const;
  Decision CheckAccount(std::string_view principal, std::string_view permission,
                        std::string_view account, std::string_view resource, uint64_t p) const;
  Result<WhoHasResult> WhoHas(std::string_view workspace, std::string_view permission,
                              const Where& where, uint64_t p) const;
  UserAccessResult UserAccess(std::string_view user, uint64_t p) const;
  Result<AccessHistoryResult> AccessHistory(std::string_view workspace, std::string_view user,
                                            uint64_t p) const;
  Result<AccessReviewResult> AccessReview(std::string_view workspace, uint64_t from,
                                          uint64_t to) const;

  // ---- Team views (live) ----
  Result<MembersResult> Members(std::string_view workspace, const PageRequest& page) const;
  Result<InvitationsResult> Invitations(std::string_view workspace, InviteStatusFilter status,
                                        Micros now, const PageRequest& page) const;
  Result<InvitationView> Invitation(std::string_view invitation_id, Micros now) const;
  Result<LinkView> InviteLink(std::string_view workspace) const;
  Result<PartnersResult> Partners(std::string_view workspace) const;
  Result<PartnerView> Partner(std::string_view partner_id) const;
  Result<SharesResult> SharesGiven(std::string_view account) const;
  SharesResult SharesReceived(std::string_view user) const;
  Result<AccountView> Account(std::string_view account) const;
  Result<WorkspaceView> Workspace(std::string_view workspace) const;
  Result<NotificationsResult> Notifications(std::string_view user, const PageRequest& page) const;

  // ---- Audit ----
  // In log order, up to `upto` (inclusive; 0 = the state's position).
  Result<AuditPage> Audit(const AuditFilter& filter, const PageRequest& page,
                          uint64_t upto = 0) const;
  // What the user did as actor, newest first (kept after removal).
  Result<AuditPage> Activity(std::string_view user, const PageRequest& page) const;

  // Resolution helpers (also used by the exporter).
  Email ResolveSubject(std::string_view subject) const;
  Email UserEmail(uint32_t user) const;
  Result<AuditEntry> RenderEntry(uint64_t position) const;

 private:
  std::string DisplayUser(std::string_view user_id, std::string_view subject) const;
  std::string DisplayActor(std::string_view actor) const;
  std::string Summarize(const events::RecordedEvent& r) const;
  boost::json::object Data(const events::Event& event) const;
  Result<PartnerView> RenderPartner(const projections::Partner& partner) const;

  const State& s_;
  const storage::EventStore& store_;
  const storage::PiiVault& vault_;
};

// Clamps a requested limit: 0 → default (100), above 1000 → 1000.
size_t ClampLimit(size_t limit);

}  // namespace roster::projections
