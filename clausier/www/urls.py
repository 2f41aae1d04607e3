from django.urls import path
from django.views.generic import TemplateView

app_name = "www"

urlpatterns = [
    path("", TemplateView.as_view(template_name="www/dashboard.html"), name="dashboard"),
]
