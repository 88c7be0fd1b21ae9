"""Operators' generation screens: campaigns and "Start a batch", prospects, prospect upload
(file → column mapping → report), the writer each campaign uses, a preview of a message for
any prospect, and each batch's generation progress. Writes go through services; nothing here
saves a status."""

import json
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.backoffice.start_batch import start_batch_page
from apps.core.errors import ServiceError
from apps.core.models import Campaign, Client, Prospect
from apps.generation.csvfiles import NAMED_ENCODINGS, UnreadableFile
from apps.generation.models import (
    BatchGeneration,
    ImportMode,
    ImportOutcome,
    ProspectImport,
    WriterConfig,
)
from apps.generation.preview import preview_message
from apps.generation.prospect_file import CUSTOM_PREFIX, STANDARD_FIELDS, inspect_upload
from apps.generation.prospect_import import import_check, import_report_csv, prospects_import
from apps.generation.selectors import progress_by_batch
from apps.generation.writers import WRITERS, check_writer_settings, writer_choices

SESSION_KEY = "generation_upload"
SAMPLE_ROWS = 3
SHOWN_ERRORS = 200  # on the report page; the CSV download has them all


def _import_level(report: ProspectImport) -> int:
    """A refused file is an error (nothing was imported); rows left out are a warning."""
    if report.outcome == ImportOutcome.REFUSED:
        return messages.ERROR
    if report.rows_with_errors or (report.rows_with_warnings and not report.warnings_accepted):
        return messages.WARNING
    return messages.SUCCESS


def _upload_dir() -> Path:
    directory = Path(settings.VAR_DIR) / "uploads"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


class UploadForm(forms.Form):
    client = forms.ModelChoiceField(queryset=Client.objects.order_by("name"))
    file = forms.FileField(help_text="CSV in UTF-8 (Excel's 'CSV UTF-8'), or UTF-16 with a "
                                     "byte-order mark (Excel's 'Unicode text').")
    encoding = forms.ChoiceField(
        choices=[("", "UTF-8 (a file in another encoding is refused, naming what it looks like)")]
        + list(NAMED_ENCODINGS.items()),
        required=False, help_text="Name the encoding only for a file that is not UTF-8.",
    )
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.ALL_OR_NOTHING,
                             widget=forms.RadioSelect)
    required = forms.MultipleChoiceField(
        choices=[(f, f) for f in STANDARD_FIELDS if f != "email"],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Fields that must not be empty (email always).",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.IMPORT_MAX_BYTES} bytes."
            )
        return upload


def _target_choices(headers):
    choices = [("", "— ignore —")] + [(f, f) for f in STANDARD_FIELDS]
    from apps.generation.prospect_file import custom_key

    choices += [(CUSTOM_PREFIX + custom_key(h), f"custom.{custom_key(h)}") for h in headers]
    return choices


class MappingForm(forms.Form):
    def __init__(self, *args, headers, mapping, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        for index, header in enumerate(headers):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=header or f"(column {index + 1})", choices=_target_choices(headers),
                initial=mapping.get(header, ""), required=False,
            )

    def mapping(self) -> dict[str, str]:
        return {h: self.cleaned_data[f"col_{i}"] for i, h in enumerate(self.headers)}


class ConfirmWarningsForm(forms.Form):
    accept_warnings = forms.BooleanField(required=False)

    def __init__(self, *args, rows: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accept_warnings"].label = (
            f"Import these {rows} rows anyway; the validators will block them in messages"
        )


@admin.register(ProspectImport)
class ProspectImportAdmin(admin.ModelAdmin):
    list_display = ("id", "client", "file_name", "outcome", "rows_total", "rows_imported",
                    "rows_existing", "rows_with_errors", "rows_with_warnings", "created_by",
                    "created_at")
    list_filter = ("outcome", "client")
    list_select_related = ("client", "created_by")
    fields = ("client", "file_name", "encoding", "delimiter", "mapping", "mode", "outcome",
              "rows_total", "rows_imported", "rows_existing", "rows_with_errors",
              "rows_with_warnings", "warnings_accepted", "created_by",
              "created_at", "report_link", "first_errors")
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="report")
    def report_link(self, obj):
        url = reverse("admin:generation_prospectimport_report", args=[obj.pk])
        return format_html('<a href="{}">Download the row errors (CSV)</a>', url)

    @admin.display(description=f"row errors and warnings (the first {SHOWN_ERRORS})")
    def first_errors(self, obj):
        errors = obj.errors.all()[:SHOWN_ERRORS]
        if not errors:
            return "none"
        rows = format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td>"
                "<td>{}</td></tr>",
            ((e.row, e.column or "(row)", e.code, e.message, e.value,
              "warning" if e.warning else "error") for e in errors),
        )
        return format_html(
            "<table><thead><tr><th>row</th><th>column</th><th>problem</th><th>message</th>"
            "<th>value</th><th>severity</th></tr></thead><tbody>{}</tbody></table>", rows,
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:import_id>/report.csv", view(self.report_view),
                 name="generation_prospectimport_report"),
            path("mapping/", view(self.mapping_view), name="generation_prospectimport_mapping"),
            path("confirm/", view(self.confirm_view), name="generation_prospectimport_confirm"),
        ] + super().get_urls()

    def report_view(self, request, import_id: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = get_object_or_404(ProspectImport, pk=import_id)
        response = HttpResponse(import_report_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{report.pk}-errors.csv"'
        return response

    def add_view(self, request, form_url="", extra_context=None):
        """Step 1: the file, the client, the mode. Step 2 (mapping_view) confirms the columns."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["file"].read()
            try:
                inspect_upload(data, form.cleaned_data["encoding"])
            except UnreadableFile as exc:
                form.add_error("file", str(exc))
            else:
                previous = request.session.get(SESSION_KEY)
                if previous:  # an upload this operator never confirmed
                    (_upload_dir() / previous["token"]).unlink(missing_ok=True)
                token = uuid.uuid4().hex
                (_upload_dir() / token).write_bytes(data)
                request.session[SESSION_KEY] = {
                    "token": token, "client_id": form.cleaned_data["client"].pk,
                    "file_name": form.cleaned_data["file"].name, "mode": form.cleaned_data["mode"],
                    "required": ["email", *form.cleaned_data["required"]],
                    "encoding": form.cleaned_data["encoding"],
                }
                return HttpResponseRedirect(reverse("admin:generation_prospectimport_mapping"))
        return self._render(request, "upload.html", "Import prospects", {"form": form})

    def mapping_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        pending = request.session.get(SESSION_KEY)
        stored = _upload_dir() / pending["token"] if pending else None
        if not stored or not stored.exists():
            self.message_user(request, "Upload the file first.", level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:generation_prospectimport_add"))
        data = stored.read_bytes()
        encoding = pending.get("encoding", "")
        upload = inspect_upload(data, encoding)
        form = MappingForm(request.POST or None, headers=upload.headers, mapping=upload.mapping)
        if request.method == "POST" and form.is_valid():
            client = get_object_or_404(Client, pk=pending["client_id"])
            try:
                checked, _, _ = import_check(
                    client=client, data=data, mapping=form.mapping(),
                    required=tuple(pending["required"]), encoding=encoding,
                )
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                if checked.rows_with_warnings:  # step 3: the operator decides on those rows
                    request.session[SESSION_KEY] = {**pending, "mapping": form.mapping()}
                    return HttpResponseRedirect(
                        reverse("admin:generation_prospectimport_confirm"))
                return self._import(request, client, data, pending, form.mapping(),
                                    accept_warnings=False)
        samples = [
            row + [""] * (len(upload.headers) - len(row)) for row in upload.rows[:SAMPLE_ROWS]
        ]
        columns = [(form[f"col_{i}"], [s[i] for s in samples]) for i in range(len(upload.headers))]
        context = {"form": form, "columns": columns, "upload": upload, "pending": pending,
                   "rows": len(upload.rows)}
        return self._render(request, "mapping.html", "Import prospects: match the columns", context)

    def confirm_view(self, request):
        """Step 3, only for a file with warnings (a name that looks like a formula, markup or a
        link): the rows are listed, and imported only when the operator ticks the box."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        pending = request.session.get(SESSION_KEY)
        stored = _upload_dir() / pending["token"] if pending else None
        if not stored or not stored.exists() or "mapping" not in pending:
            self.message_user(request, "Upload the file first.", level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:generation_prospectimport_add"))
        client = get_object_or_404(Client, pk=pending["client_id"])
        data = stored.read_bytes()
        try:
            checked, _, upload = import_check(
                client=client, data=data, mapping=pending["mapping"],
                required=tuple(pending["required"]), encoding=pending.get("encoding", ""),
            )
        except ServiceError as exc:  # the file or the mapping changed meaning since step 2
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:generation_prospectimport_mapping"))
        # An unticked box posts nothing: a POST is the operator's answer even when empty.
        form = ConfirmWarningsForm(request.POST if request.method == "POST" else None,
                                   rows=checked.rows_with_warnings)
        if request.method == "POST" and form.is_valid():
            return self._import(request, client, data, pending, pending["mapping"],
                                accept_warnings=form.cleaned_data["accept_warnings"])
        warnings = checked.warnings()
        context = {
            "form": form, "pending": pending, "upload": upload, "checked": checked,
            "warnings": warnings[:SHOWN_ERRORS], "more_warnings": len(warnings) - SHOWN_ERRORS,
            "refused": checked.rows_with_errors and pending["mode"] == ImportMode.ALL_OR_NOTHING,
        }
        return self._render(request, "confirm.html", "Import prospects: values that are not names",
                            context)

    def _import(self, request, client, data, pending, mapping, *, accept_warnings):
        try:
            report = prospects_import(
                client=client, data=data, file_name=pending["file_name"], actor=request.user,
                mode=pending["mode"], mapping=mapping, required=tuple(pending["required"]),
                encoding=pending.get("encoding", ""), accept_warnings=accept_warnings,
            )
        except ServiceError as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return HttpResponseRedirect(reverse("admin:generation_prospectimport_mapping"))
        (_upload_dir() / pending["token"]).unlink(missing_ok=True)
        del request.session[SESSION_KEY]
        message = (f"Import {report.pk}: {report.get_outcome_display()}, "
                   f"{report.rows_imported} imported, {report.rows_with_errors} rows with errors.")
        if report.rows_with_warnings:
            message += f" {report.rows_with_warnings} rows with warnings " + (
                "imported as you confirmed; the validators block their messages."
                if report.warnings_accepted else "left out (not confirmed)."
            )
        self.message_user(request, message, level=_import_level(report))
        return HttpResponseRedirect(
            reverse("admin:generation_prospectimport_change", args=[report.pk])
        )

    def _render(self, request, template, title, context):
        context = {**self.admin_site.each_context(request), "title": title,
                   "opts": self.model._meta, **context}
        return TemplateResponse(request, f"admin/generation/{template}", context)


class WriterConfigForm(forms.ModelForm):
    writer = forms.ChoiceField(choices=writer_choices)

    class Meta:
        model = WriterConfig
        fields = ("campaign", "writer", "settings")
        help_texts = {"settings": "JSON. For chat_completions: url, model, api_key_env (the name "
                                  "of the environment variable holding the key — never the key), "
                                  "timeout_seconds, max_attempts, max_retry_after_seconds."}

    def clean(self):
        data = super().clean()
        for problem in check_writer_settings(data.get("writer", ""), data.get("settings") or {}):
            self.add_error("settings", problem)
        return data


class PreviewForm(forms.Form):
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.select_related("client"))
    prospect = forms.CharField(help_text="The prospect's e-mail address or id.")


@admin.register(WriterConfig)
class WriterConfigAdmin(admin.ModelAdmin):
    form = WriterConfigForm
    list_display = ("campaign", "writer", "shown_settings")
    list_select_related = ("campaign", "campaign__client")

    @admin.display(description="settings")
    def shown_settings(self, obj):
        cls = WRITERS.get(obj.writer)
        return json.dumps(cls.public_settings(obj.settings) if cls else obj.settings)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("preview/", preview, name="generation_preview")] + super().get_urls()

    def preview_view(self, request):
        if not request.user.has_perm("core.view_campaign") or not request.user.has_perm(
            "core.view_prospect"
        ):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        preview = None
        if request.GET and form.is_valid():
            campaign, key = form.cleaned_data["campaign"], form.cleaned_data["prospect"].strip()
            prospects = Prospect.objects.filter(client_id=campaign.client_id)
            prospect = (prospects.filter(pk=int(key)) if key.isdigit() else
                        prospects.filter(email__iexact=key)).first()
            if prospect is None:
                form.add_error("prospect", f"{campaign.client} has no such prospect.")
            else:
                preview = preview_message(campaign=campaign, prospect=prospect)
        context = {**self.admin_site.each_context(request), "title": "Preview a message",
                   "opts": self.model._meta, "form": form, "preview": preview}
        return TemplateResponse(request, "admin/generation/preview.html", context)


@admin.register(BatchGeneration)
class BatchGenerationAdmin(admin.ModelAdmin):
    """While a batch is written: done/total per stage, the writer and its settings, failures."""

    list_display = ("batch_link", "client", "writer", "shown_settings", "progress", "started_at",
                    "finished_at", "failure_reason")
    list_select_related = ("batch__campaign", "batch__client")
    list_filter = ("writer",)
    fields = ("batch", "writer", "shown_settings", "progress", "chunk_size", "total",
              "subject_template", "body_template", "started_at", "finished_at", "failed_at",
              "failure_reason")
    readonly_fields = fields

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        # One query for the whole page's progress, not one per row.
        self._progress = progress_by_batch(
            batch_ids=[g.batch_id for g in changelist.result_list]
        )
        return changelist

    @admin.display(description="batch")
    def batch_link(self, obj):
        url = reverse("admin:core_batch_change", args=[obj.batch_id])
        return format_html('<a href="{}">{}</a>', url, obj.batch)

    @admin.display(description="client")
    def client(self, obj):
        return obj.batch.client

    @admin.display(description="writer settings")
    def shown_settings(self, obj):
        cls = WRITERS.get(obj.writer)
        return json.dumps(cls.public_settings(obj.writer_settings) if cls else obj.writer_settings)

    @admin.display(description="progress")
    def progress(self, obj):
        progress = getattr(self, "_progress", {}).get(obj.batch_id)
        if progress is None:
            progress = progress_by_batch(batch_ids=[obj.batch_id]).get(obj.batch_id)
        return str(progress) if progress else "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "client", "sender_email", "created_at")
    list_filter = ("client",)
    list_select_related = ("client",)
    search_fields = ("name",)
    change_form_template = "admin/generation/campaign/change_form.html"

    def get_urls(self):
        start = self.admin_site.admin_view(self.start_batch_view)
        own = [path("<int:campaign_id>/start-batch/", start, name="core_campaign_start_batch")]
        return own + super().get_urls()

    def start_batch_view(self, request, campaign_id: int):
        context = {**self.admin_site.each_context(request), "opts": self.model._meta}
        return start_batch_page(request, campaign_id, admin_context=context)


@admin.register(Prospect)
class ProspectAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "company", "client")
    list_filter = ("client",)
    list_select_related = ("client",)
    search_fields = ("email", "company", "last_name")
