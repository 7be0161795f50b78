"""The contact pages of the admin, as each role sees them."""

import io

import openpyxl
import pytest
from django.test import override_settings
from django.urls import reverse

from consent.models import ConsentChange, PurposeConsent, Source
from consent.services import consent_change
from contacts.models import Contact
from tests.admin_helpers import admin_search
from tests.factories import ContactFactory, PurposeFactory

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:contacts_contact_add")
LIST_URL = reverse("admin:contacts_contact_changelist")
EXPORT_URL = reverse("admin:contacts_contact_export")
INLINE = {
    "consent_changes-TOTAL_FORMS": "0",
    "consent_changes-INITIAL_FORMS": "0",
    "consent_changes-MIN_NUM_FORMS": "0",
    "consent_changes-MAX_NUM_FORMS": "1000",
}


def change_url(contact):
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def form_data(contact=None, **overrides):
    """What the browser posts for `contact` unchanged, with `overrides` applied."""
    data = {
        "first_name": "",
        "last_name": "",
        "email": "",
        "phone": "",
        "consent_given": "0",
        "tracking_allowed": "False",
        "guardian": "",
        "justification": "",
        "channel": "",
        **INLINE,
    }
    if contact is not None:
        data.update(
            first_name=contact.first_name,
            last_name=contact.last_name,
            email=contact.email,
            phone=contact.phone,
            consent_given=str(contact.consent_given),
            tracking_allowed=str(contact.tracking_allowed),
            guardian=str(contact.guardian_id or ""),
            language=contact.language,
        )
        if contact.is_child:
            data["is_child"] = "on"
        if contact.processing_restricted:
            data["processing_restricted"] = "on"
        for answer in contact.purpose_consents.all():
            data[f"purpose_{answer.purpose_id}"] = "yes" if answer.granted else "no"
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def raise_to(contact, level, **kwargs):
    consent_change(contact=contact, level=level, source=Source.IMPORT, **kwargs)


def workbook_rows(response):
    assert response.status_code == 200, response.status_code
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return [list(row) for row in book.active.values]


# --- adding and changing ----------------------------------------------------------------------


def test_officer_adds_contact_with_consent_and_purpose_writing_one_record_each(
    client_as, privacy_officer, logging_on
):
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter")
    client = client_as(privacy_officer)
    data = form_data(
        first_name="Holly",
        last_name="Berry",
        email=" Holly@Contoso.COM ",
        phone="030 1234567",
        consent_given="4",
        justification="signed paper form at the fair",
        channel="in_person",
        **{f"purpose_{newsletter.pk}": "yes"},
    )
    response = client.post(ADD_URL, data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    contact = Contact.objects.get()
    assert (contact.email, contact.phone, contact.consent_given) == ("holly@contoso.com", "+49301234567", 4)
    assert PurposeConsent.objects.get(contact=contact, purpose=newsletter).granted is True
    records = {r.field: r for r in ConsentChange.objects.filter(contact=contact)}
    assert set(records) == {"consent_given", "purpose"}
    level = records["consent_given"]
    assert (level.old_value, level.new_value, level.source) == ("0", "4", Source.ADMIN)
    assert level.actor == privacy_officer
    assert level.justification == "signed paper form at the fair"
    assert level.channel == "in_person"


def test_consent_change_without_justification_is_refused_and_saves_nothing(
    client_as, privacy_officer, logging_on
):
    contact = ContactFactory()
    raise_to(contact, 3)
    before = ConsentChange.objects.count()
    response = client_as(privacy_officer).post(change_url(contact), form_data(contact, consent_given="1"))
    assert response.status_code == 200
    assert "justification" in response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.consent_given == 3
    assert ConsentChange.objects.count() == before


def test_a_correction_needs_a_reason_lands_in_history_and_writes_no_consent_record(
    client_as, privacy_officer, logging_on
):
    contact = ContactFactory(first_name="Ann")
    raise_to(contact, 2)
    before = ConsentChange.objects.count()
    client = client_as(privacy_officer)
    refused = client.post(change_url(contact), form_data(contact, first_name="Anna"))
    assert refused.status_code == 200 and "justification" in refused.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.first_name == "Ann"  # nothing saved without a reason

    response = client.post(
        change_url(contact),
        form_data(contact, first_name="Anna", justification="rectification, DSR-1A2B3C4D"),
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "Anna"
    assert ConsentChange.objects.count() == before
    latest = contact.history.first()
    assert latest.history_user == privacy_officer
    assert latest.history_change_reason == "rectification, DSR-1A2B3C4D"
    assert latest.diff_against(latest.prev_record).changed_fields == ["first_name"]  # before and after


def test_lowering_consent_with_justification_writes_exactly_one_record(
    client_as, privacy_officer, logging_on
):
    contact = ContactFactory()
    raise_to(contact, 4)
    response = client_as(privacy_officer).post(
        change_url(contact),
        form_data(
            contact,
            consent_given="1",
            justification="phone call on 12 May, withdrew marketing",
            channel="phone",
        ),
    )
    assert response.status_code == 302
    record = ConsentChange.objects.filter(contact=contact, source=Source.ADMIN).get()
    assert (record.old_value, record.new_value) == ("4", "1")
    assert record.justification == "phone call on 12 May, withdrew marketing"


def test_child_raised_to_profiling_shows_error_and_saves_nothing(client_as, privacy_officer, logging_on):
    guardian = ContactFactory()
    child = ContactFactory(is_child=True, guardian=guardian, email="")
    raise_to(child, 3)
    before = ConsentChange.objects.count()
    response = client_as(privacy_officer).post(
        change_url(child), form_data(child, consent_given="5", justification="asked for it")
    )
    assert response.status_code == 200
    assert "Profiling" in str(response.context["adminform"].form.errors)
    child.refresh_from_db()
    assert child.consent_given == 3
    assert ConsentChange.objects.count() == before


def test_marking_profiled_contact_as_child_while_lowering_to_marketing_succeeds(
    client_as, privacy_officer, logging_on
):
    guardian = ContactFactory()
    contact = ContactFactory()
    raise_to(contact, 5)
    response = client_as(privacy_officer).post(
        change_url(contact),
        form_data(
            contact, consent_given="4", is_child="on", guardian=str(guardian.pk), justification="age checked"
        ),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert (contact.is_child, contact.guardian, contact.consent_given) == (True, guardian, 4)


def test_guardian_loop_shows_error_and_saves_nothing(client_as, privacy_officer):
    parent = ContactFactory()
    grandparent = ContactFactory(guardian=parent)
    response = client_as(privacy_officer).post(
        change_url(parent), form_data(parent, guardian=str(grandparent.pk))
    )
    assert response.status_code == 200
    assert "loop" in str(response.context["adminform"].form.errors["guardian"])
    parent.refresh_from_db()
    assert parent.guardian is None


def test_invalid_email_shows_error_and_creates_nothing(client_as, privacy_officer):
    response = client_as(privacy_officer).post(ADD_URL, form_data(first_name="X", email="not-an-address"))
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert not Contact.objects.exists()


def test_guardian_autocomplete_offers_no_children(client_as, privacy_officer):
    adult = ContactFactory(first_name="Zed")
    ContactFactory(first_name="Zoe", is_child=True, guardian=adult, email="")
    url = reverse("admin:autocomplete")
    response = client_as(privacy_officer).get(
        url, {"term": "Z", "app_label": "contacts", "model_name": "contact", "field_name": "guardian"}
    )
    assert [item["id"] for item in response.json()["results"]] == [str(adult.pk)]


# --- roles ------------------------------------------------------------------------------------


def test_marketer_sees_no_sensitive_fields_in_form_list_or_export(client_as, marketer):
    contact = ContactFactory(is_child=True, guardian=ContactFactory())
    client = client_as(marketer)
    form = client.get(change_url(contact)).context["adminform"].form
    assert not {"is_child", "guardian", "processing_restricted"} & set(form.fields)
    listing = client.get(LIST_URL)
    assert "processing_restricted" not in listing.context["cl"].list_display
    header = workbook_rows(client.get(EXPORT_URL))[0]
    assert "Processing restricted" not in header and "Is a child" not in header


def test_marketer_edit_keeps_sensitive_fields_it_cannot_see(client_as, marketer):
    guardian = ContactFactory()
    contact = ContactFactory(is_child=True, guardian=guardian)
    data = form_data(
        contact,
        first_name="Changed",
        processing_restricted=None,
        is_child=None,
        guardian=None,
        justification="typo",
    )
    response = client_as(marketer).post(change_url(contact), data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "Changed" and contact.is_child and contact.guardian == guardian


def test_marketer_may_change_consent_with_a_justification(client_as, marketer, logging_on):
    contact = ContactFactory()
    response = client_as(marketer).post(
        change_url(contact), form_data(contact, consent_given="3", justification="asked at the counter")
    )
    assert response.status_code == 302
    assert ConsentChange.objects.get(contact=contact).actor == marketer


def test_auditor_reads_contacts_but_cannot_change_them(client_as, auditor):
    contact = ContactFactory(first_name="Ann")
    client = client_as(auditor)
    page = client.get(change_url(contact))
    assert page.status_code == 200
    assert "Processing restricted" in page.content.decode()  # the auditor sees sensitive fields
    assert client.post(change_url(contact), form_data(contact, first_name="Eve")).status_code == 403
    assert client.get(ADD_URL).status_code == 403
    assert client.get(EXPORT_URL).status_code == 403  # audit history only, not contact lists
    contact.refresh_from_db()
    assert contact.first_name == "Ann"


@pytest.mark.parametrize(
    "url_name", ["changelist", "add", "export", "change", "history", "eligibility", "delete"]
)
def test_outsider_and_anonymous_are_refused(client, client_as, outsider, url_name):
    contact = ContactFactory()
    args = [contact.pk] if url_name in {"change", "history", "eligibility", "delete"} else []
    url = reverse(f"admin:contacts_contact_{url_name}", args=args)
    assert client_as(outsider).get(url).status_code == 403
    anonymous = client.get(url)
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


# --- list, search, filters --------------------------------------------------------------------


def test_search_finds_by_email_in_any_case_by_phone_in_any_notation_and_by_name(client_as, privacy_officer):
    holly = ContactFactory(
        first_name="Holly", last_name="Berry", email="holly@contoso.com", phone="+49 30 1234567"
    )
    ContactFactory(first_name="Ivy", last_name="Green", email="ivy@contoso.com", phone="")
    client = client_as(privacy_officer)

    def found(term):
        return list(admin_search(client, LIST_URL, term).context["cl"].result_list)

    assert found("HOLLY@Contoso.com") == [holly]
    assert found("030 1234567") == [holly]
    assert found("holly berry") == [holly]
    assert found("Berr") == [holly]
    assert found("nobody@contoso.com") == []


def test_purpose_and_minimum_level_filters(client_as, privacy_officer):
    newsletter = PurposeFactory(slug="newsletter")
    yes, no, silent = ContactFactory(), ContactFactory(), ContactFactory()
    consent_change(contact=yes, level=4, purposes={newsletter: True}, source=Source.IMPORT)
    consent_change(contact=no, level=4, purposes={newsletter: False}, source=Source.IMPORT)
    consent_change(contact=silent, level=2, source=Source.IMPORT)
    client = client_as(privacy_officer)

    def listed(**params):
        return set(client.get(LIST_URL, params).context["cl"].result_list)

    assert listed(purpose="newsletter:yes") == {yes}
    assert listed(purpose="newsletter:no") == {no}
    assert listed(purpose="newsletter:none") == {silent}
    assert listed(level_gte="3") == {yes, no}


@override_settings(ADMIN_LIST_COUNT_CAP=20)
def test_long_list_is_counted_only_up_to_the_cap(client_as, privacy_officer):
    ContactFactory.create_batch(25)
    response = client_as(privacy_officer).get(LIST_URL)
    assert "more than 20 contacts" in response.content.decode()
    assert len(response.context["cl"].result_list) == 25  # still listed, only not counted


def test_list_query_count_does_not_grow_with_rows(client_as, privacy_officer, django_assert_max_num_queries):
    client = client_as(privacy_officer)
    ContactFactory.create_batch(3)
    with django_assert_max_num_queries(12):
        client.get(LIST_URL)
    ContactFactory.create_batch(40)
    with django_assert_max_num_queries(12):
        client.get(LIST_URL)


# --- history and records on the contact's page -----------------------------------------------


def test_history_can_be_filtered_to_one_field(client_as, privacy_officer, logging_on):
    contact = ContactFactory(first_name="Ann")
    raise_to(contact, 3)
    raise_to(contact, 1)
    client = client_as(privacy_officer)
    url = reverse("admin:contacts_contact_history", args=[contact.pk])
    client.post(change_url(contact), form_data(contact, first_name="Anna"))

    every = client.get(url).context["rows"]
    assert {row["field"] for row in every} >= {"Consent given", "First name"}
    only_level = client.get(url, {"field": "consent_given"}).context["rows"]
    assert [(row["old"], row["new"]) for row in only_level] == [
        ("3 Subscriptions", "1 Consent"),
        ("0 None", "3 Subscriptions"),
    ]


def test_marketer_history_hides_sensitive_fields(client_as, marketer, privacy_officer):
    contact = ContactFactory()
    officer = client_as(privacy_officer)
    officer.post(
        change_url(contact), form_data(contact, processing_restricted="on", justification="DSR restriction")
    )
    officer.post(change_url(contact), form_data(contact, justification="restriction lifted"))
    contact.refresh_from_db()
    assert not contact.processing_restricted  # a restricted contact is not shown to a Marketer at all
    url = reverse("admin:contacts_contact_history", args=[contact.pk])
    assert any(
        r["key"] == "processing_restricted" for r in client_as(privacy_officer).get(url).context["rows"]
    )
    assert not any(r["key"] == "processing_restricted" for r in client_as(marketer).get(url).context["rows"])


def test_contact_page_lists_its_consent_change_records(client_as, privacy_officer, logging_on):
    contact = ContactFactory()
    consent_change(
        contact=contact, level=2, source=Source.ADMIN, actor=privacy_officer, justification="by phone"
    )
    page = client_as(privacy_officer).get(change_url(contact)).content.decode()
    assert "by phone" in page and "2 Transactional" in page


# --- export -----------------------------------------------------------------------------------


def test_export_contains_exactly_the_filtered_contacts(client_as, privacy_officer):
    newsletter = PurposeFactory(name="Newsletter", slug="newsletter")
    wanted = ContactFactory(first_name="Holly", email="holly@contoso.com")
    consent_change(contact=wanted, level=4, purposes={newsletter: True}, source=Source.IMPORT)
    ContactFactory.create_batch(3)

    rows = workbook_rows(client_as(privacy_officer).get(EXPORT_URL, {"purpose": "newsletter:yes"}))
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    record = dict(zip(header, body[0], strict=True))
    assert record["Email"] == "holly@contoso.com"
    assert record["Consent level"] == 4 and record["Consent"] == "Marketing"
    assert record["Purpose: Newsletter"] == "Yes"
    # Booleans read as words, like the purpose answers beside them.
    assert (record["Is a child"], record["Processing restricted"]) == ("No", "No")


def test_export_action_exports_only_selected_contacts(client_as, privacy_officer):
    chosen, _other = ContactFactory(first_name="Chosen"), ContactFactory(first_name="Other")
    response = client_as(privacy_officer).post(
        LIST_URL, {"action": "export_selected_xlsx", "_selected_action": [chosen.pk]}
    )
    body = workbook_rows(response)[1:]
    assert [row[1] for row in body] == ["Chosen"]


def test_export_neutralises_formulas_in_contact_data(client_as, privacy_officer):
    ContactFactory(first_name='=HYPERLINK("http://evil.example","click")', last_name="@SUM(A1)")
    response = client_as(privacy_officer).get(EXPORT_URL)
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    cells = next(book.active.iter_rows(min_row=2))
    first, last = cells[1], cells[2]
    assert first.data_type == "s" and first.quotePrefix  # text, never a formula
    assert first.value == '=HYPERLINK("http://evil.example","click")'
    assert last.data_type == "s" and last.quotePrefix


def test_a_post_missing_fields_shows_errors_and_changes_nothing(client_as, privacy_officer, logging_on):
    contact = ContactFactory(first_name="Ann")
    response = client_as(privacy_officer).post(change_url(contact), {"first_name": "Eve", **INLINE})
    assert response.status_code == 200
    assert "consent_given" in response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.first_name == "Ann"
    assert not ConsentChange.objects.exists()


# --- no leaks: what a role may not see, it may not filter, sort or search by either -----------


@pytest.fixture
def family(db):
    """An adult guardian with a child, and an adult without wards; none of them restricted."""
    import datetime as dt

    guardian = ContactFactory(first_name="Gail", email="gail@example.org")
    child = ContactFactory(
        first_name="Kim",
        email="kim@example.org",
        is_child=True,
        guardian=guardian,
        date_of_birth=dt.date(2015, 5, 1),
    )
    other = ContactFactory(first_name="Otto", email="otto@example.org", country="FR")
    return guardian, child, other


OFFICER_MAY = {"is_child__exact", "processing_restricted__exact", "guardian__isnull", "date_of_birth__gte"}


@pytest.mark.parametrize(
    "query",
    [
        "is_child__exact=1",
        "is_child=True",
        "processing_restricted__exact=0",
        "guardian__isnull=False",
        "guardian__id__exact={guardian}",
        "guardian_id={guardian}",
        "guardian__email=gail@example.org",
        "wards__isnull=False",
        "date_of_birth__gte=2010-01-01",
        "consent_changes__field=is_child",
    ],
)
def test_marketer_cannot_filter_contacts_by_a_hidden_field(
    client_as, marketer, privacy_officer, family, query
):
    guardian, _child, _other = family
    url = f"{LIST_URL}?{query.format(guardian=guardian.pk)}"
    response = client_as(marketer).get(url)
    # Refused (400), never an answer: a filtered list would tell who is a child.
    assert response.status_code == 400
    if query.split("=")[0] in OFFICER_MAY:  # the same filter is answered for an officer
        assert client_as(privacy_officer).get(url).status_code == 200


def test_officer_filters_by_hidden_fields(client_as, privacy_officer, family):
    _guardian, child, _other = family
    listing = client_as(privacy_officer).get(f"{LIST_URL}?is_child__exact=1")
    assert [c.pk for c in listing.context["cl"].result_list] == [child.pk]


def test_marketer_can_still_filter_sort_and_search_by_what_they_see(client_as, marketer, family):
    _guardian, _child, other = family
    client = client_as(marketer)
    assert [c.pk for c in client.get(f"{LIST_URL}?country=FR").context["cl"].result_list] == [other.pk]
    assert [c.pk for c in admin_search(client, LIST_URL, "Otto").context["cl"].result_list] == [other.pk]
    # Sorting follows the visible columns only: asking for every column orders by no hidden field.
    ordering = client.get(f"{LIST_URL}?o=1.2.3.4.5.6.7.8").context["cl"].queryset.query.order_by
    assert ordering and not {"is_child", "processing_restricted", "guardian", "date_of_birth"} & {
        str(term).lstrip("-") for term in ordering
    }


def test_guardian_autocomplete_is_refused_to_a_marketer(client_as, marketer, family):
    """Who the guardian list leaves out would tell who is a child."""
    url = reverse("admin:autocomplete")
    params = {"term": "", "app_label": "contacts", "model_name": "contact", "field_name": "guardian"}
    assert client_as(marketer).get(url, params).status_code == 403


def test_restricted_contacts_reach_only_privacy_officers_marked_as_restricted(
    client_as, marketer, auditor, privacy_officer
):
    """GDPR Art. 18: kept, not processed. Not in a Marketer's list, page or export."""
    kept = ContactFactory(first_name="Rita", email="rita@example.org", processing_restricted=True)
    free = ContactFactory(first_name="Fred", email="fred@example.org")
    for user in (marketer, auditor):
        client = client_as(user)
        assert [c.pk for c in client.get(LIST_URL).context["cl"].result_list] == [free.pk]
        assert client.get(change_url(kept)).status_code == 302  # "does not exist", back to the list
    rows = workbook_rows(client_as(marketer).get(EXPORT_URL))
    assert [row[0] for row in rows[1:]] == [free.pk]
    selected = client_as(marketer).post(
        LIST_URL, {"action": "export_selected_xlsx", "_selected_action": [kept.pk, free.pk]}
    )
    assert [row[0] for row in workbook_rows(selected)[1:]] == [free.pk]

    page = client_as(privacy_officer).get(LIST_URL).content.decode()
    assert "Rita" in page and "(restricted)" in page
    assert "Fred" in page and page.count("(restricted)") == 1


def test_a_search_by_address_never_puts_the_address_in_a_url(client_as, privacy_officer, marketer):
    """Typed into the box, the address is posted; the list's URL (and so every link on it, the
    export and the access logs) carries only a random key. A ?q= in a URL is not searched."""
    holly = ContactFactory(first_name="Holly", email="holly@contoso.com")
    ContactFactory(first_name="Ivy", email="ivy@contoso.com")
    client = client_as(privacy_officer)
    page = admin_search(client, LIST_URL, "Holly@Contoso.com", consent_given__exact="0")
    assert [c.pk for c in page.context["cl"].result_list] == [holly.pk]
    html = page.content.decode()
    assert 'method="post" role="search"' in html and 'value="holly@contoso.com"' in html.lower()
    assert "holly%40contoso.com" not in html.lower() and "q=holly" not in html.lower()
    key = page.wsgi_request.GET["_search"]
    assert page.wsgi_request.GET["consent_given__exact"] == "0"  # filters stay in the URL
    # The export of what is shown follows the key, not an address.
    rows = workbook_rows(client.get(f"{EXPORT_URL}?_search={key}"))
    assert [row[0] for row in rows[1:]] == [holly.pk]
    # Another account cannot use the key: the term lives in the searching officer's session.
    other = client_as(marketer).get(f"{LIST_URL}?_search={key}")
    assert len(other.context["cl"].result_list) == 2

    old_link = client.get(f"{LIST_URL}?q=holly%40contoso.com")
    assert old_link.status_code == 302 and "holly" not in old_link["Location"]


@pytest.mark.parametrize("guardian", ["\x00", "not a number", "[1, 2]", "9" * 30])
def test_a_guardian_that_is_no_contact_is_a_form_error_not_a_server_error(
    client_as, privacy_officer, guardian
):
    """The autocomplete widget looked the posted value up to show the form again: a 500."""
    response = client_as(privacy_officer).post(
        reverse("admin:contacts_contact_add"),
        form_data(first_name="Ida", email="ida@example.org", guardian=guardian),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["guardian"]
    assert not Contact.objects.filter(email="ida@example.org").exists()


def test_officer_sets_a_contacts_language_with_history_and_no_consent_record(
    client_as, privacy_officer, logging_on
):
    contact = ContactFactory(email="lena@example.de")
    page = client_as(privacy_officer).get(change_url(contact)).content.decode()
    assert 'name="language"' in page and '<option value="de">Deutsch</option>' in page
    data = form_data(contact, language="de", justification="she wrote to us in German")
    response = client_as(privacy_officer).post(change_url(contact), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.language == "de"
    assert contact.history.filter(language="de", history_user=privacy_officer).exists()
    assert not ConsentChange.objects.filter(contact=contact).exists()


@pytest.mark.parametrize("who", ["privacy_officer", "admin_user"])
def test_a_contact_cannot_be_deleted_in_the_admin_only_erased(client_as, request, who):
    """Deleting would leave no erasure record and no suppression: the next import would bring the
    person back. Neither the delete page nor the bulk action is there, for any role."""
    contact = ContactFactory(email="nia@example.org")  # no consent record yet: nothing protects it
    client = client_as(request.getfixturevalue(who))
    delete = reverse("admin:contacts_contact_delete", args=[contact.pk])
    assert client.get(delete).status_code == 403
    assert client.post(delete, {"post": "yes"}).status_code == 403
    listing = client.get(LIST_URL)
    assert "delete_selected" not in dict(listing.context["action_form"].fields["action"].choices)
    client.post(LIST_URL, {"action": "delete_selected", "_selected_action": [contact.pk], "post": "yes"})
    assert Contact.objects.filter(pk=contact.pk).exists()
    assert "deletelink" not in client.get(change_url(contact)).content.decode()
