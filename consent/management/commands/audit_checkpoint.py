from django.core.management.base import BaseCommand

from consent.audit_chain import audit_checkpoint_send, audit_checkpoint_take, checkpoint_line


class Command(BaseCommand):
    help = (
        "Write a signed checkpoint of the consent change chain (its length and head) now; a beat task"
        " writes one daily. Keep the printed line somewhere outside the database as well."
    )

    def handle(self, *args, **options):
        checkpoint = audit_checkpoint_take()
        sent = audit_checkpoint_send(checkpoint)
        self.stdout.write(
            f"Checkpoint #{checkpoint.pk}: {checkpoint.length} records, head {checkpoint.head_hash}"
            f"{' (emailed to the address in the compliance settings)' if sent else ''}\n{checkpoint_line(checkpoint)}"
        )
