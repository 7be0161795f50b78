"""Interactions and lead scoring. Lead scoring is profiling (GDPR Art. 4(4)): who is scored, and
whose interactions count, is decided by consent.selectors.eligible_contacts."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from consent.selectors import eligible_contacts, is_eligible
from contacts.activity import last_actions_record
from contacts.models import Contact
from core.levels import ConsentLevel
from journeys.models import Interaction, Score, ScoringModel
from journeys.rules import rules_to_q


def interaction_record(*, contact: Contact, kind: str, at=None, detail: str = "") -> Interaction | None:
    """Keep an interaction only when the contact allows tracking (ePrivacy Art. 5(3)); else nothing."""
    if not is_eligible(contact, min_level=ConsentLevel.NONE, needs_tracking=True):
        return None
    interaction = Interaction(contact=contact, kind=kind, at=at or timezone.now(), detail=detail[:300])
    interaction.full_clean()
    interaction.save()
    if kind in Interaction.PERSON_ACTIONS:  # a click or a form is the person's; an open never is
        last_actions_record(moments={contact.pk: interaction.at})
    return interaction


def _score_expression(model: ScoringModel, *, tracked, now):
    attributes = Value(0, output_field=IntegerField())
    interactions = Value(0, output_field=IntegerField())
    for rule in model.rules.all():
        if rule.condition:
            attributes = attributes + Case(
                When(rules_to_q(rule.condition), then=Value(rule.points)),
                default=Value(0),
                output_field=IntegerField(),
            )
            continue
        done = Interaction.objects.filter(contact=OuterRef("pk"), kind=rule.interaction)
        if rule.within_days:
            done = done.filter(at__gte=now - timedelta(days=rule.within_days))
        count = Subquery(done.order_by().values("contact").annotate(n=Count("pk")).values("n")[:1])
        interactions = interactions + Coalesce(count, 0) * Value(rule.points)
    # Interaction points only for who allows tracking, as the selector says (ePrivacy Art. 5(3)).
    return attributes + Case(
        When(Exists(tracked.filter(pk=OuterRef("pk"))), then=interactions),
        default=Value(0),
        output_field=IntegerField(),
    )


def lead_scores_compute(*, model: ScoringModel, now=None) -> dict:
    """Recompute one model's scores as one INSERT ... SELECT (upsert), and remove the scores of
    contacts who no longer meet its minimum consent.

    Lead scoring is profiling (GDPR Art. 4(4)); children are never profiled (Art. 8, Recital 71),
    whatever the model's minimum: at Profiling the selector leaves them out, below it so does the
    queryset given to it.
    """
    now = now or timezone.now()
    adults = Contact.objects.filter(is_child=False)
    scored = eligible_contacts(min_level=model.min_level, queryset=adults)
    tracked = eligible_contacts(min_level=model.min_level, needs_tracking=True, queryset=adults)
    with transaction.atomic():
        removed = Score.objects.filter(model=model).exclude(contact__in=scored.values("pk")).delete()[0]
        if not model.active:
            return {"scored": 0, "removed": removed + Score.objects.filter(model=model).delete()[0]}
        rows = (
            scored.order_by()
            .annotate(points=_score_expression(model, tracked=tracked, now=now))
            .values("points", scored_id=F("pk"))
        )
        select_sql, params = rows.query.sql_with_params()
        qn = connection.ops.quote_name
        table, stamp = qn(Score._meta.db_table), connection.ops.adapt_datetimefield_value(now)
        columns = ", ".join(qn(c) for c in ("model_id", "contact_id", "score", "computed_at"))
        # As in journey_enrol: quoted identifiers and the ORM's compiled SQL; values are parameters.
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT %s, scored.{qn('scored_id')}, scored.{qn('points')}, %s "  # noqa: S608
            f"FROM ({select_sql}) scored WHERE 1 = 1 "
            f"ON CONFLICT ({qn('model_id')}, {qn('contact_id')}) DO UPDATE SET "
            f"{qn('score')} = excluded.{qn('score')}, {qn('computed_at')} = excluded.{qn('computed_at')}"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [model.pk, stamp, *params])
            scored_count = max(cursor.rowcount, 0)
    return {"scored": scored_count, "removed": removed}


def lead_scores_compute_all(*, now=None) -> dict:
    totals: Counter = Counter()
    for model in ScoringModel.objects.all():
        totals.update(lead_scores_compute(model=model, now=now))
    return dict(totals)
