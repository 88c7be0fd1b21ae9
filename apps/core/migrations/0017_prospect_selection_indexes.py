"""Indexes for "Start a batch" (apps.generation.selection).

(client, id) replaces the foreign key's own index on client: every lookup by client still has
an index that starts with it, and the client's prospects come in id order from the index
alone, which a tag's rows (prospect_tagged_once, in prospect id order) merge with.

A trigram index for "company contains", on PostgreSQL only: a substring match
(`company__icontains`, which Django writes as UPPER(company) LIKE UPPER('%…%')) cannot use a
b-tree, so without it the filter reads every prospect of the client. The GIN index of pg_trgm
over the same UPPER(company) finds the rows holding the pattern's trigrams instead. It is not
in the model's Meta: SQLite (the embedded default) would be asked to build a GIN index whenever
it rebuilds the table. On SQLite it does nothing, either way. Going back drops the index and
leaves the extension (something else may use it); Django's TrigramExtension operation would
drop it, and fails backwards on SQLite.
"""

import django.db.models.deletion
from django.db import migrations, models

TRIGRAM_INDEX = "prospect_company_trgm"


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON core_prospect"
            " USING gin (UPPER(company::text) gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0016_merge_withdrawn_and_tags"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="prospect",
            index=models.Index(fields=["client", "id"], name="prospect_client_id"),
        ),
        migrations.AlterField(
            model_name="prospect",
            name="client",
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE,
                                    related_name="prospects", to="core.client"),
        ),
        migrations.RunPython(create_trigram_index, drop_trigram_index, elidable=False),
    ]
