"""Which of a client's prospects a batch is started for: a filter, never a list of ids.

"Start a batch" shows the count and a sample of a selection and posts the filter back;
batch_start_for_selection (apps.generation.services) reads the ids when the batch starts, so a
prospect imported after that is not in it. Every query begins with the client: another
client's import, tag or prospects match nothing.

The page counts up to COUNT_LIMIT and says "more than" past it: counting 200,000 rows exactly
costs a scan of them all whatever the indexes, while the first COUNT_LIMIT + 1 matches are found
by a short walk of an index. The exact figure is one click away (exact=True), and the batch is
started from the filter itself, so it holds exactly the matching prospects either way.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Lower, Trim
from django.utils import timezone

from apps.core.models import Prospect, ProspectTag, Tag, email_domain
from apps.generation.models import ImportOutcome, ProspectImport
from apps.sending.models import LastContact

SAMPLE_SIZE = 20
COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class Selection:
    """What the operator chose; every field empty: all the client's prospects."""

    import_id: int | None = None
    tag_id: int | None = None
    company: str = ""  # part of the company name, any case
    domain: str = ""  # the address's domain, whole (any case): "example.com"
    created_since: date | None = None
    not_contacted_since: date | None = None  # the client sent nothing to them since this day


@dataclass(frozen=True)
class SelectionPreview:
    count: int  # exact, or the limit when there are more (over_limit)
    sample: list[dict]
    over_limit: bool = False


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def prospects_selected(*, client_id: int, selection: Selection) -> QuerySet:
    """The client's prospects the selection names. Import and tag are looked up within the
    client, so another client's id selects nobody."""
    chosen = Prospect.objects.filter(client_id=client_id)
    for tag_id in _tag_ids(client_id=client_id, selection=selection):
        chosen = chosen.filter(
            Exists(ProspectTag.objects.filter(tag_id=tag_id, prospect_id=OuterRef("pk")))
        )
    if selection.company:
        chosen = chosen.filter(company__icontains=selection.company)
    if selection.domain:
        domain = selection.domain.strip().lstrip("@").lower()
        chosen = chosen.alias(domain=email_domain()).filter(domain=domain)
    if selection.created_since:
        chosen = chosen.filter(created_at__gte=_start_of(selection.created_since))
    if selection.not_contacted_since:
        # The re-contact record (one row per client and address, its unique index probed per
        # prospect), so a send to the same address under another prospect counts too.
        sent = LastContact.objects.filter(
            client_id=client_id, address=OuterRef("address"),
            sent_at__gte=_start_of(selection.not_contacted_since),
        )
        chosen = chosen.alias(address=Lower(Trim("email"))).filter(~Exists(sent))
    return chosen


def _tag_ids(*, client_id: int, selection: Selection) -> list[int]:
    """The tags to require: the import's own and the chosen one, each only if it is this
    client's (-1, which no tag has, otherwise: the selection is then empty, not widened)."""
    ids = []
    if selection.import_id is not None:
        found = ProspectImport.objects.filter(client_id=client_id, pk=selection.import_id)
        ids.append(found.values_list("tag_id", flat=True).first() or -1)
    if selection.tag_id is not None:
        ids.append(selection.tag_id if Tag.objects.filter(
            client_id=client_id, pk=selection.tag_id).exists() else -1)
    return ids


def selection_preview(*, client_id: int, selection: Selection, sample_size: int = SAMPLE_SIZE,
                      count_limit: int | None = COUNT_LIMIT) -> SelectionPreview:
    """The count (up to count_limit; None: exact) and the newest few, as the page shows them:
    two queries, whatever the size."""
    chosen = prospects_selected(client_id=client_id, selection=selection)
    sample = list(
        chosen.order_by("-created_at", "-pk")
        .values("pk", "email", "first_name", "last_name", "company", "created_at")[:sample_size]
    )
    if count_limit is None:
        return SelectionPreview(count=chosen.count(), sample=sample)
    # COUNT over a LIMIT subquery: the database stops at the first count_limit + 1 matches.
    found = chosen.values("pk")[:count_limit + 1].count()
    return SelectionPreview(count=min(found, count_limit), sample=sample,
                            over_limit=found > count_limit)


def import_choices(*, client_id: int) -> list[tuple[int, str]]:
    """The client's imports that added prospects, newest first."""
    return [
        (pk, f"{name} ({created:%Y-%m-%d %H:%M}, {added} added)")
        for pk, name, created, added in ProspectImport.objects.filter(
            client_id=client_id, outcome=ImportOutcome.IMPORTED, tag__isnull=False,
        ).values_list("pk", "file_name", "created_at", "rows_imported")
    ]


def tag_choices(*, client_id: int) -> list[tuple[int, str]]:
    """The client's tags, without the imports' own (chosen under "Import")."""
    return list(
        Tag.objects.filter(client_id=client_id, prospect_import__isnull=True)
        .values_list("pk", "name")
    )
