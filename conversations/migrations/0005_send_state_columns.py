"""The send state of outbound messages moves from epoch floats in `meta` (claimed_until,
in_flight, retry_at) to columns the sweeper can index (issue 17). Rows that carry the keys get
the columns filled and the keys removed; backwards, the keys come back."""

from django.db import migrations, models

FORWARD = """
UPDATE conversations_message
   SET claimed_until = CASE WHEN jsonb_typeof(meta->'claimed_until') = 'number'
                            THEN to_timestamp((meta->>'claimed_until')::double precision) END,
       in_flight = COALESCE(meta->'in_flight' = 'true'::jsonb, false),
       retry_at = CASE WHEN jsonb_typeof(meta->'retry_at') = 'number'
                       THEN to_timestamp((meta->>'retry_at')::double precision) END,
       meta = meta - 'claimed_until' - 'in_flight' - 'retry_at'
 WHERE meta ?| array['claimed_until', 'in_flight', 'retry_at'];
"""

BACKWARD = """
UPDATE conversations_message
   SET meta = meta || jsonb_strip_nulls(jsonb_build_object(
           'claimed_until', extract(epoch FROM claimed_until)::double precision,
           'in_flight', CASE WHEN in_flight THEN true END,
           'retry_at', extract(epoch FROM retry_at)::double precision))
 WHERE claimed_until IS NOT NULL OR in_flight OR retry_at IS NOT NULL;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0004_growth"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True, verbose_name="claimed until"),
        ),
        migrations.AddField(
            model_name="message",
            name="in_flight",
            field=models.BooleanField(default=False, verbose_name="provider call started"),
        ),
        migrations.AddField(
            model_name="message",
            name="retry_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="retry at"),
        ),
        migrations.RunSQL(FORWARD, BACKWARD, elidable=True),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("status", "sending")), fields=["claimed_until"], name="msg_claim_expiry_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("status", "queued")), fields=["retry_at"], name="msg_retry_due_idx"
            ),
        ),
    ]
