"""The three roles as groups, kept in line with staff/roles.py."""

import pytest
from django.contrib.auth.models import Group

from staff.roles import AUDITOR, MARKETER, PRIVACY_OFFICER, sync_roles

pytestmark = pytest.mark.django_db


def perms(role):
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.all()
    }


def test_sync_is_idempotent_and_undoes_hand_edits():
    sync_roles()
    before = {role: perms(role) for role in (PRIVACY_OFFICER, MARKETER, AUDITOR)}
    Group.objects.get(name=MARKETER).permissions.clear()
    sync_roles()
    assert {role: perms(role) for role in before} == before


def test_officer_may_edit_contacts_and_see_sensitive_fields():
    assert {
        "contacts.change_contact",
        "contacts.view_sensitive_contact",
        "core.change_compliancesettings",
    } <= perms(PRIVACY_OFFICER)


def test_marketer_sees_no_sensitive_fields_and_nothing_of_dsr_or_settings():
    marketer = perms(MARKETER)
    assert "contacts.change_contact" in marketer
    assert "contacts.view_sensitive_contact" not in marketer
    assert not {
        p for p in marketer if p.startswith("dsr.") or "compliancesettings" in p or "consentrequest" in p
    }


def test_auditor_only_reads_and_exports_the_audit_history():
    auditor = perms(AUDITOR)
    assert "consent.export_consentchange" in auditor
    assert {p.split(".")[1].split("_")[0] for p in auditor} <= {"view", "export"}


def test_nobody_may_write_consent_change_records():
    for role in (PRIVACY_OFFICER, MARKETER, AUDITOR):
        assert not {
            p
            for p in perms(role)
            if p.endswith("consentchange") and not p.split(".")[1].startswith(("view", "export"))
        }


def test_sync_creates_each_role_once():
    first = sync_roles()
    assert sync_roles() == first
    assert Group.objects.filter(name__in=(PRIVACY_OFFICER, MARKETER, AUDITOR)).count() == 3


def test_nobody_may_edit_or_delete_history_rows():
    for role in (PRIVACY_OFFICER, MARKETER, AUDITOR):
        assert not {p for p in perms(role) if "historical" in p and not p.split(".")[1].startswith("view")}, (
            role
        )


def test_the_personas_hold_exactly_their_role_and_the_outsider_nothing(
    privacy_officer, marketer, auditor, outsider
):
    for user, role in ((privacy_officer, PRIVACY_OFFICER), (marketer, MARKETER), (auditor, AUDITOR)):
        assert user.is_staff and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.get_all_permissions() == perms(role)
    assert outsider.is_staff and not outsider.groups.exists() and outsider.get_all_permissions() == set()
