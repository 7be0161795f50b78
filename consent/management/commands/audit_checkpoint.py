from django.core.management.base import BaseCommand

from consent.audit_chain import audit_checkpoint_take


class Command(BaseCommand):
    help = (
        "Write a signed checkpoint of the consent change chain (its length and head) now; a beat task"
        " writes one daily. Keep the printed line somewhere outside the database as well."
    )

    def handle(self, *args, **options):
        checkpoint = audit_checkpoint_take()
        self.stdout.write(
            f"Checkpoint #{checkpoint.pk} at {checkpoint.created_at.isoformat()}: {checkpoint.length} records,"
            f" head {checkpoint.head_hash}, signature {checkpoint.signature}"
        )
