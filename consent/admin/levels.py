"""The consent levels' wording in the organisation's own words (core.models.LevelWording).

Officers reword the six levels, per language; the levels themselves (0-5, their order and rules)
cannot be added, removed or renumbered here. Each save is a new wording version with history.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from core.levels import level_wordings_ensure
from core.models import LevelWording
from core.translations import translation_fields, translations_form


@admin.register(LevelWording)
class LevelWordingAdmin(SimpleHistoryAdmin):
    form = translations_form()
    list_display = ("level", "name", "description", "version", "updated_at")
    list_display_links = ("level", "name")
    readonly_fields = ("level", "version", "updated_at")
    fieldsets = [
        (
            None,
            {
                "fields": ["level", "name", "description", "version", "updated_at"],
                "description": _(
                    "The words people read for this level on the public pages and in emails, and "
                    "staff see everywhere. What the level allows in processing stays fixed: a higher "
                    "level includes every lower one. Each change is a new version; consent records "
                    "name the version that was shown."
                ),
            },
        ),
        (_("In other languages"), {"fields": translation_fields()}),
    ]

    def changelist_view(self, request, extra_context=None):
        if self.has_change_permission(request):
            level_wordings_ensure()
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
