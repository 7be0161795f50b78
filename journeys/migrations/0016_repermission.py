"""Re-permission (issue 21, scope 3): the link between a journey email and the double opt-in
request it carries, the default re-permission journeys (one per language of the public pages,
shipped as drafts: an officer reads the email and puts them live) and their daily job."""

import django.db.models.deletion
from django.db import migrations, models

from core.beat import periodic_task

# Per language: the template's name, subject and text, and the segment's language condition.
DEFAULTS = {
    "en": (
        "Re-permission (English)",
        "Do you still want to hear from us?",
        "Hello {{ first_name }},\n\n"
        "some time ago you agreed to hear from us. That consent runs out in a few weeks: we do not "
        "keep writing to people who have not told us again that they want it.\n\n"
        "If you would like to stay, please confirm it here (nothing else changes):\n"
        "{{ renew_url }}\n\n"
        "If you do nothing, your consent ends and we stop writing to you about it. You can change "
        "your choices at any time: {{ preferences_url }}",
        {"field": "language", "op": "ne", "value": "de"},
    ),
    "de": (
        "Re-permission (Deutsch)",
        "Möchten Sie weiterhin von uns hören?",
        "Hallo {{ first_name }},\n\n"
        "vor einiger Zeit haben Sie zugestimmt, von uns zu hören. Diese Einwilligung läuft in wenigen "
        "Wochen ab: Wir schreiben niemandem weiter, der uns nicht erneut gesagt hat, dass er es möchte.\n\n"
        "Wenn Sie dabei bleiben möchten, bestätigen Sie es bitte hier (sonst ändert sich nichts):\n"
        "{{ renew_url }}\n\n"
        "Wenn Sie nichts tun, endet Ihre Einwilligung und wir schreiben Ihnen dazu nicht mehr. Ihre "
        "Einstellungen können Sie jederzeit ändern: {{ preferences_url }}",
        {"field": "language", "op": "eq", "value": "de"},
    ),
}
CONSENT_LEVEL = 1  # core.levels.ConsentLevel.CONSENT: "contact you about your consent"


def create(apps, schema_editor):
    EmailTemplate = apps.get_model("journeys", "EmailTemplate")
    Segment = apps.get_model("journeys", "Segment")
    Journey = apps.get_model("journeys", "Journey")
    JourneyStep = apps.get_model("journeys", "JourneyStep")
    for name, subject, body, language in DEFAULTS.values():
        if Journey.objects.filter(name=name).exists():
            continue
        template, _ = EmailTemplate.objects.get_or_create(name=name, defaults={"subject": subject, "body": body})
        segment, _ = Segment.objects.get_or_create(
            name=name,
            defaults={
                "description": "Contacts whose consent for a purpose or list lapses soon.",
                "rules": {"all": [{"renewal": "due"}, language]},
            },
        )
        journey = Journey.objects.create(name=name, segment=segment, min_level=CONSENT_LEVEL, status="draft")
        JourneyStep.objects.create(journey=journey, position=0, kind="email", template=template)


def remove(apps, schema_editor):
    names = [name for name, *_rest in DEFAULTS.values()]
    Journey = apps.get_model("journeys", "Journey")
    Journey.objects.filter(name__in=names, enrolments__isnull=True).delete()
    apps.get_model("journeys", "Segment").objects.filter(name__in=names, journey__isnull=True).delete()
    apps.get_model("journeys", "EmailTemplate").objects.filter(name__in=names, journeystep__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("journeys", "0015_send_consent_protects_its_send"),
        ("subscriptions", "0014_consent_request_pseudonymised"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="RenewalRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "consent_request",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="subscriptions.consentrequest"
                    ),
                ),
                (
                    "step_run",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="renewal",
                        to="journeys.steprun",
                        verbose_name="email sent",
                    ),
                ),
            ],
            options={"verbose_name": "re-permission request"},
        ),
        migrations.RunPython(create, remove),
        periodic_task("Re-permission: next cycles and guardians (daily)", "journeys.repermission", hour="2", minute="40"),
    ]
