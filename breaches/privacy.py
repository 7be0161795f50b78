from django.utils.translation import gettext_noop

from breaches.models import BreachNotice
from core.registry import Erasure, register

# Who was told of a breach (GDPR Art. 34) is part of the breach's documentation (Art. 33(5)):
# erasure keeps the row, as proof the notice went out, and cuts it from the person (the contact
# link and the address). A Breach itself names nobody.
register(
    BreachNotice,
    fields=["contact", "email"],
    contact_path="contact",
    erasure=Erasure.ANONYMISE,
    legal_hold=gettext_noop(
        "Documentation of a personal data breach (GDPR Art. 33(5)): that the person was told, kept "
        "without whom it was about."
    ),
    kept_until=gettext_noop("as long as the breach register is kept"),
)
