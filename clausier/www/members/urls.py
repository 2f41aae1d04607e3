"""Members area (issue 8): members and invitations of the current organization, for its administrators;
each user's notification choices (namespace `www`)."""

from django.urls import path

from clausier.www.members import notifications
from clausier.www.members import views as members

urlpatterns = [
    path("organisation/membres/", members.MemberListView.as_view(), name="member_list"),
    path("organisation/membres/inviter/", members.MemberInviteView.as_view(), name="member_invite"),
    path("organisation/membres/<str:member>/role/", members.MemberRoleView.as_view(), name="member_role"),
    path(
        "organisation/membres/<str:member>/desactiver/",
        members.MemberDeactivateView.as_view(),
        name="member_deactivate",
    ),
    path(
        "organisation/invitations/<uuid:uuid>/revoquer/",
        members.InvitationRevokeView.as_view(),
        name="invitation_revoke",
    ),
    path(
        "compte/notifications/",
        notifications.NotificationPreferencesView.as_view(),
        name="notification_preferences",
    ),
]
