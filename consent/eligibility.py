"""The eligibility rules as objects (rule 2 of DESIGN.md): each owns its SQL condition and its words.

consent.selectors filters by the conditions (one SQL query over any number of contacts);
eligibility_explain() evaluates the same conditions for one contact, also in one query, and asks
each rule to say in words why the contact meets it or not, from the contact's consent records
(who answered what, when, through which door). The verdict is always the SQL's, so the
explanation says "eligible" exactly when eligible_contacts returns the contact.

Apps above consent (lists, journeys) register what an officer may ask about ("is this contact
eligible for the list Monthly news?") in an `eligibility_targets.py` module of their own,
discovered when consent is ready, so consent never imports them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.db.models import BooleanField, Case, Exists, OuterRef, Q, Subquery, Value, When
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from consent.models import ConsentChange, ConsentField, Purpose, PurposeConsent, Source
from contacts.models import Contact, Deliverability
from core.levels import CHILD_MAXIMUM, ConsentLevel, level_name


class Ineligibility(models.TextChoices):
    """Why a contact may not be processed: a stable code (kept in records, read by other apps) and
    a label a privacy officer reads. One member per eligibility rule."""

    RESTRICTED = "restricted", _("Processing is restricted (GDPR Art. 18)")
    UNSUBSCRIBED = "unsubscribed", _("Unsubscribed from the list (GDPR Art. 21(3))")
    CHILD = "child", _("A child is never profiled (GDPR Art. 8)")
    BELOW_MINIMUM = "below_minimum", _("Consent level below the minimum")
    NO_TRACKING = "no_tracking", _("Interaction tracking not allowed (ePrivacy Art. 5(3))")
    NO_PURPOSE_CONSENT = "no_purpose_consent", _("No explicit yes to the purpose (GDPR Art. 6(1)(a))")
    OPTED_OUT = "opted_out", _("Opted out of sale/sharing or of using sensitive data (CCPA/CPRA)")
    UNDELIVERABLE = "undeliverable", _("Mail to the address bounced (a delivery block, not a consent choice)")


@dataclass(frozen=True)
class Criteria:
    """What a caller asks for: the eligible_contacts keywords, normalised once."""

    level: ConsentLevel
    purpose: Any = None
    needs_tracking: bool = False
    subscription_list: Any = None
    channel: str = ""  # "email": the address must also still take mail
    # The purpose as stored now (None: no such purpose), and the opt-out purposes whose "no" stops
    # it: read in one query before the contacts are, so the rules put plain ids in their SQL. Inside
    # the query, "a yes, or an opt-out purpose" kept PostgreSQL from semi-joining the answers (the
    # count at 10M took 3.5x the hand-written query, 0.99x with the ids read first).
    purpose_row: Purpose | None = None
    stopping: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        min_level: int,
        purpose: Purpose | str | None = None,
        needs_tracking: bool = False,
        subscription_list=None,
        channel: str = "",
    ) -> Criteria:
        row, stopping = _purpose_and_stoppers(purpose) if purpose is not None else (None, ())
        return cls(
            ConsentLevel(int(min_level)), purpose, needs_tracking, subscription_list, channel, row, stopping
        )


def _purpose_and_stoppers(purpose) -> tuple[Purpose | None, tuple[int, ...]]:
    """The purpose (given as itself, its slug or its id) and the opt-out purposes that stop it:
    itself when it is one, and those named in its stopped_by."""
    if isinstance(purpose, Purpose):
        purpose = purpose.pk
    key = "slug" if isinstance(purpose, str) else "pk"
    rows = list(Purpose.objects.filter(Q(**{key: purpose}) | Q(**{f"stops__{key}": purpose})).distinct())
    row = next((p for p in rows if getattr(p, key) == purpose), None)
    return row, tuple(sorted(p.pk for p in rows if p.opt_out))


def _day(moment) -> str:
    if moment is None:
        return "?"
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "j F Y")


def _via(record: ConsentChange | None) -> str:
    """Where a consent change came from, in words: "import “CRM” row 14", "Subscription center"."""
    if record is None:
        return ""
    evidence = record.evidence if isinstance(record.evidence, dict) else {}
    if record.source == Source.IMPORT and evidence.get("row") is not None:
        name = evidence.get("import_source")
        named = f" “{name}”" if name else ""
        return f"import{named} row {evidence['row']}"
    if record.source == Source.IMPORT and evidence.get("removed_from_export"):
        return f"import “{evidence.get('import_source', '')}” (the row left the export)"
    words = str(Source(record.source).label) if record.source in Source.values else record.source
    if evidence.get("page"):
        words += f" ({evidence['page']})"
    if record.actor_id:
        words += f" by {record.actor}"
    return words


def _latest_record(contact: Contact, field: str, *, purpose=None, new_value: str | None = None):
    records = ConsentChange.objects.filter(contact=contact, field=field).select_related("actor")
    if purpose is not None:
        records = records.filter(purpose=purpose)
    if new_value is not None:
        records = records.filter(new_value=new_value)
    return records.order_by("-effective_at", "-recorded_at", "-id").first()


def _when_via(record: ConsentChange | None, fallback=None) -> str:
    """ " on 12 May 2026 via import row 14", or "" when nothing was recorded."""
    if record is None:
        return f" on {_day(fallback)}" if fallback is not None else ""
    via = _via(record)
    return f" on {_day(record.effective_at)}" + (f" via {via}" if via else "")


class EligibilityRule:
    """One rule: the SQL condition a contact must meet (None: the rule does not apply to these
    criteria), the reason given to whoever fails it, and its words for one contact.

    `sensitive`: the words tell a field only roles with the sensitive-fields permission see
    (contacts.selectors.SENSITIVE_CONTACT_FIELDS); other roles are not shown them.
    """

    reason: Ineligibility
    title: str  # what the rule asks, for the officer: "Consent level at least the minimum"
    sensitive = False

    def condition(self, criteria: Criteria) -> Q | Exists | None:
        raise NotImplementedError

    def explain(self, contact: Contact, criteria: Criteria, *, met: bool, asked: str) -> str:
        """Why `contact` meets the rule (met) or not, in words; `asked` names who sets the criteria
        ("journey “Welcome”")."""
        raise NotImplementedError


class NotRestricted(EligibilityRule):
    reason = Ineligibility.RESTRICTED
    title = "Processing not restricted (GDPR Art. 18)"
    sensitive = True  # processing_restricted is a sensitive field

    def condition(self, criteria):
        return Q(processing_restricted=False)

    def explain(self, contact, criteria, *, met, asked):
        if met:
            return "Processing is not restricted."
        since, why = None, ""
        # Newest first: walk back through the restricted stretch to the record that set it.
        history = contact.history.order_by("-history_date", "-history_id").values_list(
            "processing_restricted", "history_date", "history_change_reason"
        )
        for restricted, when, change_reason in history.iterator(chunk_size=50):
            if not restricted:
                break
            since, why = when, change_reason or ""
        reference = re.search(r"\b(DSR-[A-Z0-9]+)\b", why)
        words = "Processing restricted"
        if reference and why.startswith("restriction requested"):
            words += f" by request {reference.group(1)}"
        elif why:
            words += f" ({why})"
        if since is not None:
            words += f" since {_day(since)}"
        return words + " (GDPR Art. 18): nothing may be done with this contact."


class NotUnsubscribed(EligibilityRule):
    reason = Ineligibility.UNSUBSCRIBED
    title = "Not unsubscribed from the list (GDPR Art. 21(3))"

    @staticmethod
    def _subscription_model():
        # Subscriptions sit above consent: their model is reached through Contact's reverse
        # relation, not imported, so consent does not depend on the app that depends on it.
        return Contact._meta.get_field("subscriptions").related_model

    def condition(self, criteria):
        if criteria.subscription_list is None:
            return None
        subscription = self._subscription_model()
        left = subscription.objects.filter(
            contact=OuterRef("pk"),
            subscription_list=criteria.subscription_list,
            status=subscription.Status.UNSUBSCRIBED,
        )
        return ~Exists(left)

    def explain(self, contact, criteria, *, met, asked):
        subscription_model = self._subscription_model()
        the_list = criteria.subscription_list
        row = subscription_model.objects.filter(contact=contact, subscription_list=the_list).first()
        name = str(getattr(the_list, "name", the_list))
        if not met:
            when = f" on {_day(row.changed_at)}" if row is not None else ""
            source = f" via {row.get_source_display()}" if row is not None and row.source else ""
            return f"Unsubscribed from {name}{when}{source} (GDPR Art. 21(3))."
        if row is None:
            return f"Never unsubscribed from {name} (no subscription recorded)."
        return (
            f"Not unsubscribed from {name} ({row.get_status_display().lower()} since {_day(row.changed_at)})."
        )


class NotAProfiledChild(EligibilityRule):
    reason = Ineligibility.CHILD
    title = "No child profiled (GDPR Art. 8)"
    sensitive = True  # is_child is a sensitive field

    def condition(self, criteria):
        # Tracking interactions (opens, clicks, visits) builds a behavioural profile: a child's are
        # never kept, whatever the tracking choice says (GDPR Art. 8, Recital 38 and 71).
        return Q(is_child=False) if criteria.level > CHILD_MAXIMUM or criteria.needs_tracking else None

    def explain(self, contact, criteria, *, met, asked):
        if met:
            return "Not a child, so profiling is possible."
        return "A child: never profiled (GDPR Art. 8), whatever anyone consents to."


class AtLevel(EligibilityRule):
    reason = Ineligibility.BELOW_MINIMUM
    title = "Consent level at least the minimum"

    def condition(self, criteria):
        return Q(consent_given__gte=criteria.level)

    def explain(self, contact, criteria, *, met, asked):
        held = ConsentLevel(contact.consent_given)
        record = _latest_record(contact, ConsentField.CONSENT_GIVEN, new_value=str(int(held)))
        since = f" (held{_when_via(record)})" if record is not None else ""
        wanted = criteria.level
        if met:
            return f"Level {level_name(held)} meets the {level_name(wanted)} that {asked} needs{since}."
        return f"Level {level_name(held)} is below the {level_name(wanted)} that {asked} needs{since}."


class TrackingAllowed(EligibilityRule):
    reason = Ineligibility.NO_TRACKING
    title = "Interaction tracking allowed (ePrivacy Art. 5(3))"

    def condition(self, criteria):
        return Q(tracking_allowed=True) if criteria.needs_tracking else None

    def explain(self, contact, criteria, *, met, asked):
        record = _latest_record(contact, ConsentField.TRACKING, new_value=str(bool(contact.tracking_allowed)))
        if met:
            return f"Tracking allowed{_when_via(record)}."
        if record is None:
            return "Tracking refused: never allowed (ePrivacy Art. 5(3))."
        return f"Tracking refused{_when_via(record)} (ePrivacy Art. 5(3))."


def _purpose_id(purpose):
    """The purpose as its id, or the slug's id as a scalar subquery, not a join: the planner then
    reads the answers as if the id had been written in (a join made the first page 3x slower at 1M)."""
    if isinstance(purpose, str):
        return Subquery(Purpose.objects.filter(slug=purpose).values("pk")[:1])
    return purpose.pk if isinstance(purpose, Purpose) else purpose


def _purpose_named(purpose) -> Purpose | None:
    if isinstance(purpose, Purpose):
        return purpose
    return Purpose.objects.filter(
        **({"slug": purpose} if isinstance(purpose, str) else {"pk": purpose})
    ).first()


class PurposeGranted(EligibilityRule):
    reason = Ineligibility.NO_PURPOSE_CONSENT
    title = "An explicit yes to the purpose (GDPR Art. 6(1)(a))"

    def condition(self, criteria):
        if criteria.purpose is None:
            return None
        purpose = criteria.purpose_row
        if purpose is not None and purpose.opt_out:
            return None  # an opt-out purpose needs no yes (consent.opt_outs); NotOptedOut checks its no
        granted = PurposeConsent.objects.filter(contact=OuterRef("pk"), granted=True)
        # No such purpose: the id is NULL and nobody said yes to it.
        return Exists(granted.filter(purpose=purpose.pk if purpose else None))

    def explain(self, contact, criteria, *, met, asked):
        purpose = _purpose_named(criteria.purpose)
        if purpose is None:
            return f"There is no purpose “{criteria.purpose}”, so nobody answered yes to it."
        if purpose.opt_out:
            return f"{purpose.name} is an opt-out purpose: no yes is needed."
        answer = PurposeConsent.objects.filter(contact=contact, purpose=purpose).first()
        if answer is None:
            return f"{purpose.name} never answered: a purpose needs an explicit yes (GDPR Art. 6(1)(a))."
        record = _latest_record(
            contact, ConsentField.PURPOSE, purpose=purpose, new_value=str(bool(answer.granted))
        )
        said = "Yes" if answer.granted else "No"
        return f"{purpose.name} answered {said}{_when_via(record, fallback=answer.changed_at)}."


class NotOptedOut(EligibilityRule):
    reason = Ineligibility.OPTED_OUT
    title = "No opt-out of sale/sharing or of sensitive data that stops the purpose (CCPA/CPRA)"

    @staticmethod
    def _stopping(purpose):
        """The opt-out purposes whose "no" stops `purpose`: itself when it is one, and those it
        names in stopped_by (data on the purpose, consent.opt_outs)."""
        pk = _purpose_id(purpose)
        return Purpose.objects.exclude(opt_out="").filter(Q(pk=pk) | Q(stops=pk)).values("pk")

    def condition(self, criteria):
        if criteria.purpose is None:
            return None
        # Where no opt-out purpose stops this one (Criteria read them), the answers are never read.
        if not criteria.stopping:
            return None
        return ~Exists(
            PurposeConsent.objects.filter(
                contact=OuterRef("pk"), granted=False, purpose__in=criteria.stopping
            )
        )

    def explain(self, contact, criteria, *, met, asked):
        if met:
            return "No opt-out stops this purpose."
        answer = (
            PurposeConsent.objects.filter(
                contact=contact, granted=False, purpose__in=self._stopping(criteria.purpose)
            )
            .select_related("purpose")
            .first()
        )
        if answer is None:  # withdrawn between the two reads
            return "Opted out (CCPA/CPRA)."
        record = _latest_record(contact, ConsentField.PURPOSE, purpose=answer.purpose, new_value="False")
        return (
            f"Opted out of {answer.purpose.name}{_when_via(record, fallback=answer.changed_at)} (CCPA/CPRA)."
        )


class Deliverable(EligibilityRule):
    reason = Ineligibility.UNDELIVERABLE
    title = "The address takes mail (no bounce block)"

    def condition(self, criteria):
        if criteria.channel != "email":
            return None
        return ~Exists(Deliverability.objects.filter(contact=OuterRef("pk"), blocked_since__isnull=False))

    def explain(self, contact, criteria, *, met, asked):
        state = Deliverability.objects.filter(contact=contact).first()
        if met:
            return "Mail to the address is not blocked by bounces."
        if state is None:  # blocked rows exist whenever the rule fails; a race at most
            return "Address undeliverable (bounces)."
        why = state.get_block_reason_display() if state.block_reason else "bounces"
        why = why[:1].lower() + why[1:]
        return f"Address undeliverable since {_day(state.blocked_since)}: {why}."


# In the order a reason is given: a contact failing several rules is told the first. Restriction
# stops all processing; an unsubscribe is named before the level it may have lowered with it; a
# child below Profiling is told why it stays there (the database refuses a child above it).
ELIGIBILITY_RULES: tuple[EligibilityRule, ...] = (
    NotRestricted(),
    NotUnsubscribed(),
    NotAProfiledChild(),
    AtLevel(),
    TrackingAllowed(),
    PurposeGranted(),
    NotOptedOut(),
    Deliverable(),
)


def eligibility_conditions(**criteria) -> list[tuple[EligibilityRule, Q | Exists]]:
    """The rules that apply to these criteria (eligible_contacts keywords) with their conditions,
    in ELIGIBILITY_RULES' order."""
    normalised = Criteria.of(**criteria)
    applied = ((rule, rule.condition(normalised)) for rule in ELIGIBILITY_RULES)
    return [(rule, condition) for rule, condition in applied if condition is not None]


def rules_met(contact_id: int, conditions: list[tuple[EligibilityRule, Q | Exists]]) -> dict | None:
    """For one contact, whether it meets each condition: one query, the conditions as the
    selector's WHERE has them. None when the contact does not exist (erased)."""
    # Aliases of their own: a reason's code could one day name a field of Contact.
    met = {
        f"meets_{rule.reason.value}": Case(
            When(condition, then=Value(True)), default=Value(False), output_field=BooleanField()
        )
        for rule, condition in conditions
    }
    row = Contact.objects.filter(pk=contact_id).values(**met).first()
    if row is None:
        return None
    return {rule.reason: row[f"meets_{rule.reason.value}"] for rule, _condition in conditions}


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one contact, in words."""

    reason: Ineligibility
    met: bool
    words: str
    sensitive: bool = False
    title: str = ""


@dataclass(frozen=True)
class Explanation:
    """Whether one contact may be processed for what was asked, and why, rule by rule."""

    eligible: bool
    findings: tuple[Finding, ...] = ()
    erased: bool = False
    hidden: int = field(default=0)  # findings left out for the viewer's role

    @property
    def reasons(self) -> list[Finding]:
        """The rules the contact fails, in rule order (the first is the exit reason)."""
        return [f for f in self.findings if not f.met]

    @property
    def summary(self) -> str:
        if self.erased:
            return "Erased: the contact no longer exists, so nothing may be done with it."
        if self.eligible:
            return "Eligible: every rule is met."
        failed = self.reasons
        if not failed:
            return "Not eligible, for a reason your role may not see."
        return "Not eligible: " + " ".join(f.words for f in failed)

    def for_viewer(self, *, sees_sensitive: bool) -> Explanation:
        """The explanation a role may read: without the sensitive-fields permission, no finding
        that tells a hidden field (a child, a restriction). When only those failed (a restriction,
        or a child asked about tracking at a level it holds), the summary says the reason is not
        the viewer's to see."""
        if sees_sensitive:
            return self
        shown = tuple(f for f in self.findings if not f.sensitive)
        return Explanation(
            eligible=self.eligible,
            findings=shown,
            erased=self.erased,
            hidden=self.hidden + len(self.findings) - len(shown),
        )


def eligibility_explain(*, contact_id: int | None, asked: str = "this check", **criteria) -> Explanation:
    """Why the contact may (not) be processed for these criteria (eligible_contacts keywords),
    rule by rule in words, from the very conditions eligible_contacts filters by.

    GDPR Art. 5(2) and 7(1): the controller can show why it processed someone, or did not.
    """
    conditions = eligibility_conditions(**criteria)
    verdicts = rules_met(contact_id, conditions) if contact_id is not None else None
    if verdicts is None:
        return Explanation(eligible=False, erased=True)
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:  # erased between the two reads
        return Explanation(eligible=False, erased=True)
    normalised = Criteria.of(**criteria)
    findings = tuple(
        Finding(
            reason=rule.reason,
            met=verdicts[rule.reason],
            words=rule.explain(contact, normalised, met=verdicts[rule.reason], asked=asked),
            sensitive=rule.sensitive,
            title=rule.title,
        )
        for rule, _condition in conditions
    )
    return Explanation(eligible=all(verdicts.values()), findings=findings)


# --- what an officer may ask about ---------------------------------------------------------------


@dataclass(frozen=True)
class EligibilityTarget:
    """A kind of thing contacts are processed for (a list, a journey), registered by its app:
    what to offer in the picker and the eligible_contacts keywords one of them asks for."""

    key: str
    label: str
    choices: Callable[[], Iterable[tuple[int, str]]]
    criteria: Callable[[int], tuple[str, dict] | None]  # id -> (what asks, keywords), None: gone


_TARGETS: dict[str, EligibilityTarget] = {}


def register_target(target: EligibilityTarget) -> None:
    _TARGETS[target.key] = target


def eligibility_targets() -> list[EligibilityTarget]:
    return list(_TARGETS.values())


def _purpose_choices():
    return Purpose.objects.order_by("name").values_list("pk", "name")


def _purpose_criteria(pk: int) -> tuple[str, dict] | None:
    purpose = Purpose.objects.filter(pk=pk).first()
    if purpose is None:
        return None
    return f"purpose “{purpose.name}”", {"purpose": purpose}


register_target(EligibilityTarget("purpose", "Purpose", _purpose_choices, _purpose_criteria))
