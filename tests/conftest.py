"""Personas shared by every test: a privacy officer, a marketer, an auditor and an outsider."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from consent.models import ComplianceSettings
from staff.roles import AUDITOR, MARKETER, PRIVACY_OFFICER, sync_roles
from tests.factories import UserFactory


@pytest.fixture
def roles(db):
    sync_roles()


def _persona(username: str, role: str | None):
    user = UserFactory(username=username)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def privacy_officer(roles):
    return _persona("officer", PRIVACY_OFFICER)


@pytest.fixture
def marketer(roles):
    return _persona("marketer", MARKETER)


@pytest.fixture
def auditor(roles):
    return _persona("auditor", AUDITOR)


@pytest.fixture
def outsider(roles):
    """Staff, so the admin lets them log in, but with no role and so no permission."""
    return _persona("outsider", None)


@pytest.fixture
def client_as():
    """A test client logged in as the given user."""

    def login(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def logging_on(db):
    settings = ComplianceSettings.load()
    settings.log_consent_changes = True
    settings.save()
    return settings
