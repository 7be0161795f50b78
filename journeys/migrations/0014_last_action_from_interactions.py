from django.db import migrations
from django.db.models import Exists, Max, OuterRef, Q, Subquery

PERSON_ACTIONS = ["email_click", "form_submit"]  # an open or a page visit never counts


def last_action_from_interactions(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    Interaction = apps.get_model("journeys", "Interaction")
    acted = Interaction.objects.filter(contact=OuterRef("pk"), kind__in=PERSON_ACTIONS)
    newest = acted.order_by().values("contact").annotate(at=Max("at")).values("at")[:1]
    Contact.objects.filter(Exists(acted)).filter(
        Q(last_action_at__isnull=True) | Q(last_action_at__lt=Subquery(newest))
    ).update(last_action_at=Subquery(newest))


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0013_insights_permission_event_attendance"),
        ("contacts", "0011_last_action_and_legal_hold"),
    ]

    operations = [migrations.RunPython(last_action_from_interactions, migrations.RunPython.noop)]
