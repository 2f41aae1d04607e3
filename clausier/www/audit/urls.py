"""Audit log area: the facilitator's audit log, read-only, for its administrators (namespace `www`)."""

from django.urls import path

from clausier.www.audit import views as audit

urlpatterns = [
    path("journal-d-audit/", audit.AuditLogView.as_view(), name="audit_list"),
]
