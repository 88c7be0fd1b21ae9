"""A batch whose sending finished with unknown outcomes is "needs attention", not "sent", until
a person resolves them. Batches already "sent" with unknown messages move there now, each with
its audit event, so the portal stops telling their clients "sent"."""

from django.db import migrations, models
from django.utils import timezone


def sent_with_unknown_needs_attention(apps, schema_editor):
    Batch = apps.get_model("core", "Batch")
    Message = apps.get_model("core", "Message")
    AuditEvent = apps.get_model("core", "AuditEvent")
    now = timezone.now()
    batch_ids = (
        Message.objects.filter(send_status="unknown", batch__status="sent")
        .values_list("batch_id", flat=True).distinct()
    )
    for batch_id in sorted(set(batch_ids)):
        unknown = Message.objects.filter(batch_id=batch_id, send_status="unknown").count()
        if Batch.objects.filter(pk=batch_id, status="sent").update(status="needs_attention"):
            AuditEvent.objects.create(
                created_at=now, actor=None, actor_label="system", action="batch_needs_attention",
                batch_id=batch_id, from_state="sent", to_state="needs_attention",
                reason=f"{unknown} message(s) whose delivery could not be confirmed",
                data={"unknown": unknown},
            )


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0011_message_claim_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='batch',
            name='status',
            field=models.CharField(choices=[('generating', 'Generating'), ('validating', 'Validating'), ('in_review', 'In review'), ('approved', 'Approved'), ('sending', 'Sending'), ('needs_attention', 'Needs attention'), ('sent', 'Sent'), ('rejected', 'Rejected'), ('failed', 'Failed')], default='generating', max_length=20),
        ),
        # Back to "sent" would hide the doubt again: going backwards leaves the batches as they are.
        migrations.RunPython(sent_with_unknown_needs_attention, migrations.RunPython.noop),
    ]
