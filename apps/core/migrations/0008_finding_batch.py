"""Finding.batch: the message's batch, stored on the finding so per-batch aggregates read an
index instead of joining every finding to its message. Added nullable, filled from the
messages in one UPDATE, then made NOT NULL and indexed."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = {
    # PostgreSQL: one join, not a subquery per row.
    "postgresql": """
        UPDATE core_finding f SET batch_id = m.batch_id
        FROM core_message m WHERE m.id = f.message_id AND f.batch_id IS NULL
    """,
    # SQLite (the embedded default) has UPDATE ... FROM only since 3.33: a correlated subquery.
    "default": """
        UPDATE core_finding SET batch_id = (
            SELECT batch_id FROM core_message WHERE core_message.id = core_finding.message_id
        ) WHERE batch_id IS NULL
    """,
}


def backfill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # Check the new foreign key now, not at commit: a pending deferred check would make the
        # ALTER TABLE of the next operation fail ("pending trigger events").
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    schema_editor.execute(BACKFILL.get(vendor, BACKFILL["default"]))
    if vendor == "postgresql":
        schema_editor.execute("SET CONSTRAINTS ALL DEFERRED")


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0007_batch_failed_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="finding",
            name="batch",
            field=models.ForeignKey(
                null=True, db_index=False, on_delete=django.db.models.deletion.CASCADE,
                related_name="findings", to="core.batch",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="finding",
            name="batch",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE,
                related_name="findings", to="core.batch",
            ),
        ),
        migrations.AddIndex(
            model_name="finding",
            index=models.Index(fields=["batch", "rule_code"], name="core_findin_batch_i_fb3ff3_idx"),
        ),
    ]
