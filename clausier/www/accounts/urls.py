from django.urls import path

from clausier.www.accounts import invitations, proconnect, views

app_name = "accounts"

urlpatterns = [
    path("connexion/code/", views.LoginCodeView.as_view(), name="login_code"),
    # Issue 17: sign in with ProConnect (the button shows only when it is configured)
    path("connexion/proconnect/", proconnect.start, name="proconnect_start"),
    path("connexion/proconnect/retour/", proconnect.callback, name="proconnect_callback"),
    path("compte/", views.SecurityView.as_view(), name="security"),
    path("compte/mot-de-passe/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "compte/double-authentification/configurer/",
        views.TwoFactorEnrolView.as_view(),
        name="two_factor_enrol",
    ),
    path(
        "compte/double-authentification/desactiver/",
        views.TwoFactorDisableView.as_view(),
        name="two_factor_disable",
    ),
    path(
        "compte/double-authentification/codes-de-secours/",
        views.RecoveryCodesView.as_view(),
        name="recovery_codes",
    ),
    path("equipe/securite/", views.TeamSecurityView.as_view(), name="team_security"),
    # Issue 8: the public page of an invitation link (create an account or log in, then join).
    path("invitation/<str:token>/", invitations.InvitationAcceptView.as_view(), name="invitation_accept"),
    path("mot-de-passe-oublie/", views.PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe-oublie/envoye/", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "mot-de-passe-oublie/termine/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "mot-de-passe-oublie/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
