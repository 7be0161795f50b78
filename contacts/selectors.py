"""Read queries on contacts that the admin, imports and DSR discovery share."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from contacts.models import Contact
from contacts.normalize import normalize_phone

_PHONE_LIKE = re.compile(r"^\+?[\d\s()./-]{5,}$")


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
