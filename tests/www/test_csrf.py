"""CSRF is enforced on every form: a POST without the token is refused (403) and writes nothing."""

import pytest
from django.test import Client
from django.urls import reverse

from clausier.procurement.models import Operation

pytestmark = pytest.mark.django_db


def test_a_post_without_the_csrf_token_is_refused(world_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world_a.users["facilitator_member"])
    before = Operation.objects.count()
    payload = {"name": "Sans jeton", "buyer": str(world_a.orgs["buyer"].uuid), "kind": "building"}
    response = client.post(reverse("www:operation_create"), payload)
    assert response.status_code == 403
    assert Operation.objects.count() == before
    # The same form with the token of the page goes through.
    client.get(reverse("www:operation_create"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("www:operation_create"), {**payload, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Operation.objects.count() == before + 1
