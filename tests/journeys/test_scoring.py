"""Lead scoring: only who allowed it is scored, interactions count only with tracking, and a
child is never scored."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import Source
from consent.services import consent_change
from contacts.services import contact_update
from journeys.models import Interaction, Score, ScoringModel, ScoringRule
from journeys.services import interaction_record, lead_scores_compute
from journeys.tasks import score_leads
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def person(level=5, tracking=True, **fields):
    contact = ContactFactory(**fields)
    consent_change(contact=contact, level=level, tracking_allowed=tracking, source=Source.IMPORT)
    contact.refresh_from_db()
    return contact


def scoring_model(min_level=5):
    model = ScoringModel(name=f"Leads {min_level}", min_level=min_level)
    model.full_clean()
    model.save()
    for rule in (
        ScoringRule(model=model, points=10, condition={"field": "country", "op": "eq", "value": "DE"}),
        ScoringRule(model=model, points=3, interaction=Interaction.Kind.EMAIL_CLICK),
        ScoringRule(model=model, points=1, interaction=Interaction.Kind.PAGE_VISIT, within_days=30),
    ):
        rule.full_clean()
        rule.save()
    return model


def scores(model):
    return dict(Score.objects.filter(model=model).values_list("contact", "score"))


def test_points_for_attributes_and_interactions_of_a_contact_who_allowed_it():
    model = scoring_model()
    lead = person(country="DE")
    for _ in range(2):
        interaction_record(contact=lead, kind=Interaction.Kind.EMAIL_CLICK)
    interaction_record(contact=lead, kind=Interaction.Kind.PAGE_VISIT)
    interaction_record(contact=lead, kind=Interaction.Kind.PAGE_VISIT, at=timezone.now() - timedelta(days=40))
    other = person(country="FR")
    assert lead_scores_compute(model=model)["scored"] == 2
    assert scores(model) == {lead.pk: 10 + 2 * 3 + 1, other.pk: 0}
    assert lead_scores_compute(model=model)["scored"] == 2  # recomputing updates, adds no rows
    assert Score.objects.count() == 2


def test_without_tracking_nothing_is_recorded_and_earlier_interactions_stop_counting():
    model = scoring_model()
    untracked = person(country="DE", tracking=False)
    assert interaction_record(contact=untracked, kind=Interaction.Kind.EMAIL_CLICK) is None
    changed_mind = person(country="DE")
    interaction_record(contact=changed_mind, kind=Interaction.Kind.EMAIL_CLICK)
    consent_change(contact=changed_mind, tracking_allowed=False, source=Source.SUBSCRIPTION_CENTER)
    lead_scores_compute(model=model)
    assert scores(model) == {untracked.pk: 10, changed_mind.pk: 10}


def test_only_contacts_meeting_the_minimum_are_scored_and_scores_go_when_consent_goes():
    model = scoring_model(min_level=5)
    profiled, marketing_only, restricted = person(), person(level=4), person()
    lead_scores_compute(model=model)
    assert set(scores(model)) == {profiled.pk, restricted.pk}
    consent_change(contact=profiled, level=4, source=Source.SUBSCRIPTION_CENTER)
    contact_update(contact=restricted, processing_restricted=True)
    result = lead_scores_compute(model=model)
    assert result == {"scored": 0, "removed": 2}
    assert scores(model) == {}
    assert marketing_only.pk not in scores(model)


def test_a_child_is_never_scored_whatever_the_models_minimum():
    guardian = person()
    child = person(level=4, tracking=True, is_child=True, guardian=guardian, country="DE")
    interaction_record(contact=child, kind=Interaction.Kind.EMAIL_CLICK)
    profiling, marketing = scoring_model(min_level=5), scoring_model(min_level=4)
    lead_scores_compute(model=profiling)
    lead_scores_compute(model=marketing)
    assert child.pk not in scores(profiling) and child.pk not in scores(marketing)
    assert guardian.pk in scores(profiling) and guardian.pk in scores(marketing)


def test_a_scoring_model_below_marketing_or_a_rule_without_a_basis_is_refused():
    with pytest.raises(ValidationError, match="Marketing or Profiling"):
        ScoringModel(name="Low", min_level=3).full_clean()
    model = scoring_model()
    with pytest.raises(ValidationError, match="either for an attribute or per interaction"):
        ScoringRule(model=model, points=1).full_clean()
    with pytest.raises(ValidationError) as refused:
        ScoringRule(model=model, points=1, condition={"field": "shoe", "op": "eq", "value": "x"}).full_clean()
    assert "shoe" in str(refused.value)


def test_the_nightly_task_recomputes_every_model():
    model = scoring_model()
    lead = person(country="DE")
    assert score_leads.apply().get()["scored"] == 1
    assert scores(model) == {lead.pk: 10}
