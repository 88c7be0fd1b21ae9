# The send claim's index: (batch, send_status, id) instead of (batch, send_status), so that a
# worker's claim of a chunk reads that chunk in id order instead of reading and sorting every
# queued message of the batch; and no separate index on batch alone (the indexes beginning
# with batch serve it), one index fewer to write on every change of a message.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0010_finding_rule_override_version'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['batch', 'send_status', 'id'], name='message_batch_status_id'),
        ),
        migrations.RemoveIndex(
            model_name='message',
            name='core_messag_batch_i_a9768c_idx',
        ),
        migrations.AlterField(
            model_name='message',
            name='batch',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='core.batch'),
        ),
    ]
