from django.utils.translation import gettext_noop

from core.registry import Erasure, register, register_files
from journeys.models import Enrolment, ForwardedEmail, Interaction, JourneyTask, Score, SendConsent
from journeys.services import segment_export_files_delete, segment_exports_naming, segment_exports_withdraw

# Erasure strips the contact from an enrolment (the FK is SET_NULL) and keeps the anonymous row, so
# a journey's statistics stay right and the next run records the exit as "erased". Only the link and
# the exit's words (they tell the person's answers) are listed: anonymising blanks the listed
# fields, and status and dates mean nothing without the link.
register(
    Enrolment,
    fields=["contact", "exit_detail"],
    contact_path="contact",
    erasure=Erasure.ANONYMISE,
    legal_hold=gettext_noop(
        "Journey statistics (legitimate interests, Art. 6(1)(f)); nothing in the row leads to the person."
    ),
    kept_until=gettext_noop("as long as the journey's statistics are kept"),
)
# What a send relied on is proof of consent (like the change records it names): erasure keeps the
# row and cuts its link to the person; the records it names are pseudonymised by consent.
register(
    SendConsent,
    fields=["contact"],
    contact_path="contact",
    erasure=Erasure.ANONYMISE,
    legal_hold=gettext_noop(
        "Proof of the consent a send relied on (GDPR Art. 7(1)), kept without whom it was about."
    ),
    kept_until=gettext_noop("as long as consent given or withdrawn must be demonstrable (limitation period)"),
)
register(
    JourneyTask,
    fields=["contact", "title", "created_at", "done"],
    contact_path="contact",
    erasure=Erasure.DELETE,
)
register(Interaction, fields=["kind", "at", "detail"], contact_path="contact", erasure=Erasure.DELETE)
register(Score, fields=["score", "computed_at"], contact_path="contact", erasure=Erasure.DELETE)
# The friend's address, reached through the sender; deleted after 30 days anyway.
register(
    ForwardedEmail,
    fields=["friend_email"],
    contact_path="step_run__enrolment__contact",
    erasure=Erasure.DELETE,
)

# Segment exports (CSV/XLSX under MEDIA_ROOT/segment-exports) name many people each.
register_files(
    gettext_noop("Segment export files"),
    how=gettext_noop(
        "every export naming the person (and any still being written) is withdrawn and its file "
        "deleted once the erasure is committed; the marketer exports again without the person"
    ),
    find=segment_exports_naming,
    revoke=segment_exports_withdraw,
    erase=segment_export_files_delete,
)
