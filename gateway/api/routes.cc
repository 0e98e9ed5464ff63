#include "gateway/api/api.h"
#include "gateway/api/common.h"

namespace roster::api {

void RegisterRoutes(gateway::Router& router, Services& services) {
  RegisterAccountRoutes(router, services);
  RegisterMemberRoutes(router, services);
  RegisterInvitationRoutes(router, services);
  RegisterLinkRoutes(router, services);
  RegisterPartnerRoutes(router, services);
  RegisterShareRoutes(router, services);
  RegisterAccessRoutes(router, services);
  RegisterAuditRoutes(router, services);
  RegisterEventRoutes(router, services);
  RegisterPrivacyRoutes(router, services);
  RegisterTestRoutes(router, services);
}

}  // namespace roster::api
