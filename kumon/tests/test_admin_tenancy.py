"""Admin of the tenant core: who sees which units and memberships; another unit's row is 404."""

from __future__ import annotations

import pytest

from conversations.tests.workplace import make_world
from kumon.models import Membership, Unit

pytestmark = pytest.mark.django_db


def listed(client, url: str) -> list:
    return list(client.get(url).context["cl"].result_list)


def test_units_staff_see_their_unit_owner_theirs_superuser_all(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    assert listed(client, "/admin/kumon/unit/") == [w.unit_a]
    client.force_login(w.owner)
    assert listed(client, "/admin/kumon/unit/") == [w.unit_a, w.unit_c]
    client.force_login(w.superuser)
    assert listed(client, "/admin/kumon/unit/") == [w.unit_a, w.unit_b, w.unit_c]


def test_unit_of_another_tenant_is_404_and_staff_cannot_change_their_own(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    assert client.get(f"/admin/kumon/unit/{w.unit_b.pk}/change/").status_code == 404
    response = client.post(f"/admin/kumon/unit/{w.unit_a.pk}/change/", {"name": "Renamed"})
    assert response.status_code == 403
    assert Unit.objects.get(pk=w.unit_a.pk).name == "Kumon A"


def test_owner_edits_own_unit_but_not_channel_secrets(client) -> None:
    w = make_world()
    client.force_login(w.owner)
    form = client.get(f"/admin/kumon/unit/{w.unit_a.pk}/change/").context["adminform"].form
    assert "webhook_secret" not in form.fields and "name" in form.fields
    assert client.get(f"/admin/kumon/unit/{w.unit_b.pk}/change/").status_code == 404


def test_memberships_visible_to_owners_of_their_units_only(client) -> None:
    w = make_world()
    client.force_login(w.owner)
    rows = listed(client, "/admin/kumon/membership/")
    assert sorted((m.user.username, m.unit.slug) for m in rows) == [
        ("owner-ac", "unit-a"),
        ("owner-ac", "unit-c"),
        ("staff-a", "unit-a"),
    ]
    client.force_login(w.staff_a)
    assert client.get("/admin/kumon/membership/").status_code == 403
    other = Membership.objects.get(user=w.staff_b)
    client.force_login(w.owner)
    assert client.get(f"/admin/kumon/membership/{other.pk}/change/").status_code == 404


def test_admin_index_lists_only_what_the_member_may_see(client) -> None:
    w = make_world()
    client.force_login(w.staff_a)
    response = client.get("/admin/")
    models = {m["object_name"] for app in response.context["app_list"] for m in app["models"]}
    assert {"Conversation", "Contact", "Unit", "Message"} <= models
    assert "Membership" not in models and "User" not in models


# --- the unit's webhook secret and Google calendar (issue #11) --------------------------------


def change_form_data(response) -> dict:
    """What the browser would post back unchanged: the form's values and the inlines'."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    for form in forms:
        for bound in form:
            value = bound.value()
            if isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
            elif value is not None:
                data[bound.html_name] = value
    return data


def test_staff_never_see_the_webhook_secret_owners_see_it_masked(client) -> None:
    w = make_world()
    secret = Unit.objects.get(pk=w.unit_a.pk).webhook_secret
    client.force_login(w.staff_a)
    staff_page = client.get(f"/admin/kumon/unit/{w.unit_a.pk}/change/").content.decode()
    client.force_login(w.owner)
    owner_page = client.get(f"/admin/kumon/unit/{w.unit_a.pk}/change/").content.decode()
    assert (secret in staff_page, "•" * 12 in staff_page) == (False, False)
    assert (secret in owner_page, "•" * 12 + secret[-4:] in owner_page) == (False, True)


def test_an_owner_rotates_the_webhook_secret_and_sees_the_new_one_once(client) -> None:
    w = make_world()
    old = w.unit_a.webhook_secret
    client.force_login(w.owner)
    response = client.post(
        "/admin/kumon/unit/", {"action": "rotate_webhook_secret", "_selected_action": [w.unit_a.pk]}
    )
    new = Unit.objects.get(pk=w.unit_a.pk).webhook_secret
    assert (
        response.status_code,
        "no-store" in response["Cache-Control"].split(", "),
        new != old,
        len(new) >= 40,
    ) == (200, True, True, True)  # never cached
    assert [(u.pk, s) for u, s in response.context["rotated"]] == [(w.unit_a.pk, new)]
    assert new in response.content.decode()
    assert new not in client.get(f"/admin/kumon/unit/{w.unit_a.pk}/change/").content.decode()


def test_staff_cannot_rotate_the_webhook_secret(client) -> None:
    w = make_world()
    old = w.unit_a.webhook_secret
    client.force_login(w.staff_a)
    response = client.post(
        "/admin/kumon/unit/",
        {"action": "rotate_webhook_secret", "_selected_action": [w.unit_a.pk]},
        follow=True,
    )
    assert "rotate_webhook_secret" not in response.context["cl"].model_admin.get_actions(
        response.wsgi_request
    )
    assert Unit.objects.get(pk=w.unit_a.pk).webhook_secret == old


CALENDAR = "c_0123456789abcdef@group.calendar.google.com"


def post_calendar(client, unit) -> int:
    page = client.get(f"/admin/kumon/unit/{unit.pk}/change/")
    data = change_form_data(page) | {"google_calendar_id": CALENDAR, "calendar_backend": "google"}
    return client.post(f"/admin/kumon/unit/{unit.pk}/change/", data).status_code


def test_an_owner_cannot_point_the_unit_at_a_google_calendar_the_franchise_can(client) -> None:
    from django.contrib.auth.models import Permission

    w = make_world()
    client.force_login(w.owner)
    assert post_calendar(client, w.unit_a) == 302  # saved, but not that field
    unit = Unit.objects.get(pk=w.unit_a.pk)
    assert (unit.calendar_backend, unit.google_calendar_id) == ("google", "")

    w.owner.user_permissions.add(Permission.objects.get(codename="franchise_admin"))
    client.force_login(w.owner)
    assert post_calendar(client, w.unit_a) == 302
    assert Unit.objects.get(pk=w.unit_a.pk).google_calendar_id == CALENDAR


def test_the_api_cannot_change_a_units_calendar(client) -> None:
    w = make_world()
    client.force_login(w.owner)
    for method in ("put", "patch"):
        response = getattr(client, method)(
            f"/api/v1/units/{w.unit_a.slug}/",
            {"google_calendar_id": CALENDAR},
            content_type="application/json",
        )
        assert response.status_code == 405
    assert "google_calendar_id" not in client.get(f"/api/v1/units/{w.unit_a.slug}/").json()
    assert Unit.objects.get(pk=w.unit_a.pk).google_calendar_id == ""
