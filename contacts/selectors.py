"""Read queries on contacts that the admin, imports and DSR discovery share."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from contacts.models import Contact
from core.normalize import normalize_phone

_PHONE_LIKE = re.compile(r"^\+?[\d\s()./-]{5,}$")

SENSITIVE_PERMISSION = "contacts.view_sensitive_contact"
RESTRICTED_PERMISSION = "contacts.view_restricted_contact"
# Fields a role without SENSITIVE_PERMISSION may not see, nor filter, sort or search by: a filter
# on a hidden field answers what the hidden column would (?is_child__exact=1 lists the children).
SENSITIVE_CONTACT_FIELDS = ("is_child", "date_of_birth", "guardian", "processing_restricted")


def rows_visible_to(user, queryset: QuerySet, *, contact_path: str = "contact") -> QuerySet:
    """Rows about a contact (subscriptions, enrolments, tasks, scores) as contacts_visible_to
    shows contacts: those of restricted contacts only for roles that see restricted contacts."""
    if user.has_perm(RESTRICTED_PERMISSION):
        return queryset
    return queryset.exclude(**{f"{contact_path}__processing_restricted": True})


def lookup_roots_for(user) -> set[str] | None:
    """The fields `user` may filter contacts by (the first part of a `field__lookup`), or None for
    any. A list, not an exclusion: relations (guardian_id, wards, consent_changes__field) stay
    out, and so does a sensitive field added later."""
    if sees_sensitive(user):
        return None
    own = {f.name for f in Contact._meta.concrete_fields} - set(SENSITIVE_CONTACT_FIELDS)
    return own | {"pk"}


def sees_sensitive(user) -> bool:
    return user.has_perm(SENSITIVE_PERMISSION)


def contacts_visible_to(user, queryset: QuerySet[Contact] | None = None) -> QuerySet[Contact]:
    """The contacts `user` may see: restricted ones (GDPR Art. 18: kept, not processed) only for
    those who handle restrictions (privacy officers), so they never reach a Marketer's list, export
    or API client."""
    queryset = Contact.objects.all() if queryset is None else queryset
    if user.has_perm(RESTRICTED_PERMISSION):
        return queryset
    return queryset.filter(processing_restricted=False)


def contact_search(queryset: QuerySet[Contact], term: str) -> QuerySet[Contact]:
    """Find contacts by full email, phone in any notation, or the start of first/last name.

    Each branch is an indexed lookup (emails and phones are stored normalised), so a search
    stays fast at a million contacts; "contains" searches would scan the whole table.
    """
    term = " ".join(term.split())
    if not term:
        return queryset
    if "@" in term:
        email = term.lower()
        if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
            return queryset.filter(email=email)
        return queryset.filter(email__startswith=email)
    if _PHONE_LIKE.match(term):
        try:
            return queryset.filter(phone=normalize_phone(term))
        except ValidationError:
            return queryset.none()
    first, _, rest = term.partition(" ")
    if not rest:
        return queryset.filter(Q(first_name__istartswith=first) | Q(last_name__istartswith=first))
    return queryset.filter(
        Q(first_name__istartswith=first, last_name__istartswith=rest)
        | Q(last_name__istartswith=first, first_name__istartswith=rest)
    )
