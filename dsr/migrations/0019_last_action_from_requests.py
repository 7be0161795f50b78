from django.db import migrations
from django.db.models import Exists, Max, OuterRef, Q, Subquery


def last_action_from_requests(apps, schema_editor):
    """A request the person made is their action: the newest one's receipt."""
    Contact = apps.get_model("contacts", "Contact")
    Link = apps.get_model("dsr", "DataSubjectRequest").contacts.through
    made = Link.objects.filter(contact_id=OuterRef("pk"))
    newest = made.order_by().values("contact_id").annotate(at=Max("datasubjectrequest__received_at")).values("at")[:1]
    Contact.objects.filter(Exists(made)).filter(
        Q(last_action_at__isnull=True) | Q(last_action_at__lt=Subquery(newest))
    ).update(last_action_at=Subquery(newest))


class Migration(migrations.Migration):
    dependencies = [
        ("dsr", "0018_request_language"),
        ("contacts", "0011_last_action_and_legal_hold"),
    ]

    operations = [migrations.RunPython(last_action_from_requests, migrations.RunPython.noop)]
