// JSON rendering of query answers in exactly the shapes of API.md, shared by the gateway
// and the CLI. Times render as RFC 3339 with six fractional digits (FormatRfc3339);
// `*_by` fields carry the user id for "user:<id>" actors and the actor itself otherwise;
// emails render as "email": "<address>" | null with "email_erased": true|false.
// Extra fields beyond API.md are allowed by the contract and noted per function.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "projections/views.h"

namespace roster::projections {

// {allowed, reason: {via, role, granted_position, granted_at, granted_by} | null, position}
boost::json::object DecisionToJson(const Decision& d);
// {principals: [{user_id, via, role}], position}
boost::json::object WhoHasToJson(const WhoHasResult& r);
// {workspaces: [{workspace_id, account_id, role, via, permissions, access, scope}], position}
boost::json::object UserAccessToJson(const UserAccessResult& r);
// {intervals: [{role, via, from_position, from_time, to_position|null, to_time|null,
//   granted_by, revoked_by|null, access, scope, partner_id?}], position}
boost::json::object AccessHistoryToJson(const AccessHistoryResult& r);
// {gained: [{user_id, role, via}], lost: [...], changed: [{user_id, from_role, to_role}],
//  from_position, to_position, position}
boost::json::object AccessReviewToJson(const AccessReviewResult& r);

// {members: [{user_id, email, email_erased, role, access, scope, source, joined_at,
//   joined_position}], next_cursor, position}
boost::json::object MembersToJson(const MembersResult& r);
// {invitation_id, workspace_id, email, email_erased, role, access, scope, status,
//  invited_by, sent_at, first_sent_at, expires_at}  (never a token)
boost::json::object InvitationToJson(const InvitationView& v);
// {invitations: [...], next_cursor, position}
boost::json::object InvitationsToJson(const InvitationsResult& r);
// {role, enabled, created_at, created_by, updated_at, workspace_id, position} (no token)
boost::json::object LinkToJson(const LinkView& v);
// {partner_id, workspace_id, partner_account_id, status, access_level, sets,
//  history: [{position, type, at, actor, ...event fields}], position}
boost::json::object PartnerToJson(const PartnerView& v);
// {partners: [...], position}
boost::json::object PartnersToJson(const PartnersResult& r);
// {shares: [{account_id, grantee_user_id, grantee_account_id, containers: "all" | [ids],
//   billing, granted_at, granted_by, granted_position}], position}
boost::json::object SharesToJson(const SharesResult& r);
// {account_id, name, plan, region, members: [{user_id, email, email_erased, role,
//  joined_at, joined_position}], workspaces: [{workspace_id, name, template}], position}
boost::json::object AccountToJson(const AccountView& v);
// {workspace_id, account_id, name, template, invite_ttl_seconds, roles: {name: [patterns]},
//  position}
boost::json::object WorkspaceToJson(const WorkspaceView& v);
// {notifications: [{position, kind, text, recorded_at}], next_cursor, position}
boost::json::object NotificationsToJson(const NotificationsResult& r);

// {position, recorded_at, type, actor, subject, account_id, workspace_id, summary, data,
//  hash}
boost::json::object AuditEntryToJson(const AuditEntry& e);
// {entries: [...], next_cursor, position}
boost::json::object AuditPageToJson(const AuditPage& page);

// CSV export (RFC 4180, CRLF line ends): the header row, and one row per entry with the
// columns position,recorded_at,type,actor,subject,account_id,workspace_id,summary,hash,data
// (data = the JSON object). Cells starting with = + - @ tab or CR are neutralised with a
// leading ' (spreadsheet formula injection).
std::string AuditCsvHeader();
std::string AuditCsvRow(const AuditEntry& e);
// One CSV cell: neutralised, then quoted when it holds , " CR or LF.
std::string CsvCell(std::string_view text);

}  // namespace roster::projections
