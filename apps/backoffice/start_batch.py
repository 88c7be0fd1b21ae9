"""The admin's "Start a batch" page: choose a campaign client's prospects by import, tag or
filter, see how many and a sample, then start the batch from that filter.

The page never lists the prospects one by one (a client may have hundreds of thousands): it
shows a count ("more than 10,000" past selection.COUNT_LIMIT, exact on request) and a sample,
and the start posts the filter and the count the operator saw.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.core.errors import ServiceError
from apps.core.models import Campaign
from apps.generation.selection import (
    COUNT_LIMIT,
    SAMPLE_SIZE,
    Selection,
    import_choices,
    selection_preview,
    tag_choices,
)
from apps.generation.services import batch_start_for_selection

DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class SelectionForm(forms.Form):
    """The filter, read from the query string (GET) when previewing, posted when starting."""

    prospect_import = forms.TypedChoiceField(label="Import", required=False, coerce=int,
                                             empty_value=None)
    tag = forms.TypedChoiceField(label="Tag", required=False, coerce=int, empty_value=None)
    company = forms.CharField(label="Company contains", required=False, max_length=300)
    domain = forms.CharField(label="E-mail domain", required=False, max_length=253,
                             help_text="e.g. example.com")
    created_since = forms.DateField(label="Added on or after", required=False, widget=DATE_INPUT)
    not_contacted_since = forms.DateField(
        label="Not contacted since", required=False, widget=DATE_INPUT,
        help_text="leaves out anyone this client sent a message to on or after this day",
    )

    def __init__(self, *args, client_id: int, **kwargs):
        super().__init__(*args, **kwargs)
        self._set_choices("prospect_import", [
            ("", "Any import"), *import_choices(client_id=client_id)
        ])
        self._set_choices("tag", [("", "Any tag"), *tag_choices(client_id=client_id)])

    def _set_choices(self, name: str, choices: list[tuple[object, str]]) -> None:
        field = self.fields[name]
        if not isinstance(field, forms.ChoiceField):  # never: both are declared as choice fields
            raise TypeError(f"{name} is not a choice field")
        field.choices = choices

    def selection(self) -> Selection:
        data = self.cleaned_data
        return Selection(
            import_id=data["prospect_import"], tag_id=data["tag"],
            company=data["company"].strip(), domain=data["domain"].strip().lower(),
            created_since=data["created_since"], not_contacted_since=data["not_contacted_since"],
        )


class StartForm(SelectionForm):
    seen_count = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    # The page said "more than seen_count" (the count stopped at selection.COUNT_LIMIT).
    seen_over_limit = forms.BooleanField(widget=forms.HiddenInput, required=False)

    def expectation(self) -> dict[str, int]:
        """What the operator saw, as batch_start_for_selection checks it."""
        seen = self.cleaned_data["seen_count"]
        if self.cleaned_data["seen_over_limit"]:
            return {"expected_over": seen}
        return {"expected_count": seen}


def start_batch_page(request, campaign_id: int, *, admin_context: dict) -> HttpResponse:
    """GET: the filter, its count and sample. POST: start the batch from the posted filter."""
    if not request.user.has_perm("core.add_batch"):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign.objects.select_related("client"), pk=campaign_id)
    client_id = campaign.client_id
    selection = None
    form: SelectionForm
    if request.method == "POST":
        form = StartForm(request.POST, client_id=client_id)
        if form.is_valid():
            selection = form.selection()
            try:
                batch = batch_start_for_selection(
                    campaign=campaign, selection=selection, actor=request.user,
                    **form.expectation(),
                )
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                total = batch.generation.total
                messages.success(request, f"Batch {batch.pk} started for {total:,} prospect"
                                          f"{pluralize(total)}: generating messages.")
                return HttpResponseRedirect(reverse("admin:core_batch_change", args=[batch.pk]))
    else:
        form = SelectionForm(request.GET or None, client_id=client_id)
        if not form.is_bound:
            selection = Selection()
        elif form.is_valid():
            selection = form.selection()
    preview = None
    if selection is not None:
        exact = request.method == "GET" and request.GET.get("exact") == "1"
        preview = selection_preview(client_id=client_id, selection=selection,
                                    count_limit=None if exact else COUNT_LIMIT)
    chosen = [
        (name, value) for name in SelectionForm.base_fields
        if form.is_bound and (value := form.data.get(name, ""))
    ]
    context = {
        **admin_context,
        "chosen": chosen,
        "count_exactly_url": "?" + urlencode([*chosen, ("exact", "1")]),
        "title": f"Start a batch: {campaign}",
        "campaign": campaign,
        "form": form,
        "preview": preview,
        "sample_size": SAMPLE_SIZE,
    }
    return TemplateResponse(request, "admin/generation/campaign/start_batch.html", context)
