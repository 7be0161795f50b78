import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from consent.receipts.jsonld import ReceiptUnreadable
from consent.receipts.verify import receipt_verify


class Command(BaseCommand):
    help = (
        "Check consent receipts (a JSON-LD file of one receipt or of many, or JSON Lines of receipts)"
        " against the audit chain: each must name a record that still verifies, and state what it seals."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="the receipt file")

    def handle(self, *args, path, **options):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"The file cannot be read: {error}") from None
        try:
            documents = [json.loads(text)]
        except json.JSONDecodeError:
            try:  # JSON Lines, as the period export writes
                documents = [json.loads(line) for line in text.splitlines() if line.strip()]
            except json.JSONDecodeError as error:
                raise CommandError(f"The file is neither JSON nor JSON Lines ({error.msg}).") from None
        try:
            checks = [check for document in documents for check in receipt_verify(document)]
        except ReceiptUnreadable as error:
            raise CommandError(str(error)) from None
        bad = [check for check in checks if not check.ok]
        for check in bad:
            self.stderr.write(f"receipt {check.identifier}: {'; '.join(check.problems)}")
        if bad:
            raise CommandError(f"{len(bad)} of {len(checks)} receipts do not verify against the audit chain.")
        self.stdout.write(f"{len(checks)} receipts verify against the audit chain.")
