"""accounts.access: the console's one permission helper, called directly."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.urls import reverse

from accounts import access
from accounts.models import Account, Membership, Partner, User

pytestmark = pytest.mark.django_db


@access.partner_view
def page(request, *args, **kwargs):
    return HttpResponse(f"{request.partner.slug} {request.membership.role}")


@access.admin_view
def form_page(request):
    return HttpResponse("form")


def request_by(user, method: str = "get"):
    request = getattr(RequestFactory(), method)("/console/page")
    request.user, request.session = user, {}
    return request


def test_a_member_sees_their_partner(alice, partner):
    assert page(request_by(alice)).content == b"acme admin"


def test_anonymous_visitors_are_sent_to_log_in():
    response = page(request_by(AnonymousUser()))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_user_of_no_partner_is_refused(db):
    loner = User.objects.create_user(email="loner@example.test", password="x" * 20)
    with pytest.raises(PermissionDenied, match="not a member of any partner"):
        page(request_by(loner))


def test_viewers_read_but_change_nothing(victor):
    assert page(request_by(victor)).content == b"acme viewer"
    with pytest.raises(PermissionDenied, match="Viewers cannot change anything"):
        page(request_by(victor, "post"))
    with pytest.raises(PermissionDenied, match="Only admins"):
        form_page(request_by(victor))  # not even the form


def test_admins_may_change(alice):
    assert page(request_by(alice, "post")).status_code == 200
    assert form_page(request_by(alice)).content == b"form"


def test_two_factor_partners_send_members_to_set_it_up(alice, partner):
    Partner.objects.filter(pk=partner.pk).update(require_two_factor=True)
    alice = User.objects.get(pk=alice.pk)
    request = request_by(alice)
    request._messages = type("Messages", (), {"add": lambda *a, **k: None})()
    response = page(request)
    assert response.status_code == 302 and response["Location"] == reverse("teams:security")
    request.session[access.SECOND_FACTOR_KEY] = True
    assert page(request).status_code == 200


def test_current_membership_is_chosen_once_and_remembered(partner, other_partner):
    user = User.objects.create_user(email="both@example.test", password="x" * 20)
    first = Membership.objects.create(user=user, partner=partner, role=Membership.Role.VIEWER)
    Membership.objects.create(user=user, partner=other_partner, role=Membership.Role.ADMIN)
    assert access.current_membership(user) == first
    assert User.objects.get(pk=user.pk).current_membership == first


def test_another_partners_account_is_a_404(alice, other_partner, caplog):
    foreign = Account.objects.create(partner=other_partner, name="Globex", external_id="g-1")
    request = request_by(alice)
    request.partner = alice.current_membership.partner
    with pytest.raises(Http404):
        access.get_account(request, foreign.pk)
    assert "not found or foreign id for user" in caplog.text
    own = Account.objects.create(partner=request.partner, name="Initech", external_id="c-1")
    assert access.get_account(request, own.pk) == own
