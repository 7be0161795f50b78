"""Consent imports for other systems: the sources, an upload to one, the runs and their reports.

Thin, like the admin's upload page and run pages (imports.admin): an upload goes through
imports.services.import_run_start, which stores the file, checks its size and queues the run's
task once the upload commits; the file's contents are read, limited and refused (or applied
through the consent service) by that task, exactly as for a file uploaded in the admin. The
report is the admin's: the same streamed, formula-safe workbook (core.xlsx).
"""

from django.core.exceptions import ValidationError
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import parsers, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.xlsx import xlsx_response
from imports import services
from imports.models import ImportRun, ImportSource
from staff.api_base import has_perms, integer_filter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT_HEADER = ["Row", "Key", "Reason"]  # the admin's report (imports.admin.ImportRunAdmin.report_view)


class ImportSourceSerializer(serializers.ModelSerializer):
    class Meta:
        model = ImportSource
        # Where the nightly refresh reads its file (a server path) is the officers' business.
        fields = [
            "id",
            "name",
            "key_column",
            "email_column",
            "phone_column",
            "option_column",
            "value_column",
            "date_column",
            "level_column",
            "last_action_column",
            "option_map",
            "unknown_options",
            "removed_consent",
            "create_contacts",
            "created_at",
        ]
        read_only_fields = fields


class ImportRunSerializer(serializers.ModelSerializer):
    source_name = serializers.CharField(source="source.name", read_only=True)
    progress = serializers.IntegerField(
        source="progress_percent", read_only=True, min_value=0, max_value=100, help_text="Percent done."
    )
    created_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="The staff user who uploaded it; null for the nightly refresh.",
    )
    has_report = serializers.SerializerMethodField(help_text="Whether refused rows are listed in a report.")

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "source",
            "source_name",
            "file_name",
            "mode",
            "trigger",
            "status",
            "progress",
            "error",
            "total_rows",
            "applied_rows",
            "unchanged_rows",
            "refused_rows",
            "changes",
            "withdrawn",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "attempts",
            "has_report",
        ]
        read_only_fields = fields

    def get_has_report(self, run) -> bool:
        return bool(run.refused_rows)


# The schema states what the upload refuses (an empty file, as the admin's form does), so a client
# (or a fuzzer) reading it never sends one as valid.
@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class UploadField(serializers.FileField):
    pass


class ImportUploadSerializer(serializers.Serializer):
    file = UploadField(
        max_length=255,
        help_text="The export as CSV or Excel (.xlsx), with the columns the source names, or consent receipts (ISO/IEC TS 27560 JSON-LD, or JSON Lines).",
    )
    mode = serializers.ChoiceField(
        choices=ImportRun.Mode.choices,
        default=ImportRun.Mode.VALID_ROWS,
        help_text="If a row is refused: apply the valid rows, or nothing at all.",
    )


class ImportRunFilter(filters.FilterSet):
    source = integer_filter(field_name="source_id", low=1, high=2**63 - 1)

    class Meta:
        model = ImportRun
        fields = ["source", "status", "mode", "trigger"]


SOURCE_EXAMPLE = {
    "id": 1,
    "name": "Web shop",
    "key_column": "Consent ID",
    "email_column": "Email",
    "phone_column": "",
    "option_column": "Consent option",
    "value_column": "Consent value",
    "date_column": "Date",
    "level_column": "",
    "last_action_column": "",
    "option_map": {"Newsletter": "newsletter"},
    "unknown_options": "refuse",
    "removed_consent": "withdraw",
    "create_contacts": True,
    "created_at": "2026-03-01T09:00:00Z",
}
RUN_QUEUED = {
    "id": 42,
    "source": 1,
    "source_name": "Web shop",
    "file_name": "shop-consents.csv",
    "mode": "valid_rows",
    "trigger": "upload",
    "status": "queued",
    "progress": 0,
    "error": "",
    "total_rows": None,
    "applied_rows": 0,
    "unchanged_rows": 0,
    "refused_rows": 0,
    "changes": 0,
    "withdrawn": 0,
    "created_by": "olivia",
    "created_at": "2026-03-02T10:15:00Z",
    "started_at": None,
    "finished_at": None,
    "attempts": 0,
    "has_report": False,
}
RUN_DONE = {
    **RUN_QUEUED,
    "status": "done",
    "progress": 100,
    "total_rows": 1200,
    "applied_rows": 1180,
    "unchanged_rows": 17,
    "refused_rows": 3,
    "changes": 1190,
    "started_at": "2026-03-02T10:15:02Z",
    "finished_at": "2026-03-02T10:15:40Z",
    "attempts": 1,
    "has_report": True,
}


def _page(*results):
    return {"next": None, "previous": None, "results": list(results)}


@extend_schema_view(
    list=extend_schema(
        summary="List import sources",
        examples=[OpenApiExample("Sources", value=_page(SOURCE_EXAMPLE), response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Read an import source",
        examples=[OpenApiExample("A source", value=SOURCE_EXAMPLE, response_only=True)],
    ),
)
class ImportSourceViewSet(viewsets.ReadOnlyModelViewSet):
    """The systems consent is imported from, with the columns their exports hold."""

    serializer_class = ImportSourceSerializer
    queryset = ImportSource.objects.all()

    @extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportRunSerializer, 400: OpenApiResponse(response=OpenApiTypes.OBJECT)},
        summary="Upload a file to import",
        description="Stores the file and queues its import, as the admin's upload page does. The "
        "answer is the queued run: follow its status and progress at /api/v1/import-runs/{id}/. The "
        "file's contents (format, columns, limits) are checked by the run, which fails with the "
        "reason when it cannot read them; a file larger than IMPORT_MAX_FILE_MB is refused at once.",
        examples=[
            OpenApiExample(
                "Apply the valid rows",
                value={"file": "(the CSV file)", "mode": "valid_rows"},
                request_only=True,
                media_type="multipart/form-data",
            ),
            OpenApiExample("Queued", value=RUN_QUEUED, response_only=True, status_codes=["201"]),
            OpenApiExample(
                "Too large",
                value={"file": ["The file is larger than 50 MB."]},
                response_only=True,
                status_codes=["400"],
            ),
        ],
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="upload",
        parser_classes=[parsers.MultiPartParser],
        filter_backends=[],
        permission_classes=[has_perms("imports.add_importrun")],
    )
    def upload(self, request, pk=None):
        source = self.get_object()
        data = ImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        try:
            run = services.import_run_start(
                source=source,
                file=upload,
                file_name=upload.name,
                mode=data.validated_data["mode"],
                actor=request.user,
            )
        except ValidationError as error:
            body = {"detail": " ".join(error.messages)}
            if hasattr(error, "error_dict"):
                body.update(error.message_dict)
            return Response(body, status=400)
        run = ImportRun.objects.select_related("source", "created_by").get(pk=run.pk)
        return Response(ImportRunSerializer(run, context=self.get_serializer_context()).data, status=201)

    def get_permissions(self):
        if self.action == "upload":
            return [permission() for permission in self.permission_classes]
        return super().get_permissions()


class XlsxRenderer(renderers.BaseRenderer):
    """Lets a client ask for the report by its type (Accept); the view writes the workbook itself."""

    media_type = XLSX
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


@extend_schema_view(
    list=extend_schema(
        summary="List import runs",
        examples=[OpenApiExample("Runs", value=_page(RUN_DONE), response_only=True)],
    ),
    retrieve=extend_schema(
        summary="Read an import run: status, progress and counts",
        examples=[
            OpenApiExample("Queued", value=RUN_QUEUED, response_only=True),
            OpenApiExample("Done, with refused rows", value=RUN_DONE, response_only=True),
        ],
    ),
)
class ImportRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Imports of a file: a job with status, progress, counts and a report of the refused rows."""

    serializer_class = ImportRunSerializer
    filterset_class = ImportRunFilter
    queryset = ImportRun.objects.select_related("source", "created_by")

    @extend_schema(
        responses={
            (200, XLSX): OpenApiResponse(
                response={"type": "string", "format": "binary"},
                description="The refused rows (row, key, reason) as an Excel workbook, streamed; "
                "text that a spreadsheet could take for a formula is written as text.",
            )
        },
        summary="Download the report of refused rows",
        description="The same workbook as the admin's “Download report (XLSX)”. A run without "
        "refused rows gives a workbook with the header only.",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="report",
        filter_backends=[],
        renderer_classes=[XlsxRenderer],
    )
    def report(self, request, pk=None):
        run = self.get_object()
        rows = (
            run.row_errors.order_by("row", "id")
            .values_list("row", "source_key", "reason")
            .iterator(chunk_size=5000)
        )
        return xlsx_response(
            filename=f"import-{run.pk}-report.xlsx", title="Refused rows", header=REPORT_HEADER, rows=rows
        )

    def handle_exception(self, exc):
        # Refusals are JSON whatever the client asked for (the schema says so for every error).
        self.request.accepted_renderer = renderers.JSONRenderer()
        self.request.accepted_media_type = renderers.JSONRenderer.media_type
        return super().handle_exception(exc)
