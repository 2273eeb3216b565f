from django.db import migrations, models

# Contacts that only ever wrote through the simulator (provider ids "sim-…") become simulator
# contacts. One that also wrote for real stays a real family (issue #11 M4: its replies had
# been going to the console gateway since one simulator message).
FORWARD = """
UPDATE kumon_contact c SET simulated = true
WHERE EXISTS (SELECT 1 FROM conversations_message m JOIN conversations_conversation v ON v.id = m.conversation_id
              WHERE v.contact_id = c.id AND m.direction = 'in' AND m.provider_id LIKE 'sim-%%')
  AND NOT EXISTS (SELECT 1 FROM conversations_message m JOIN conversations_conversation v ON v.id = m.conversation_id
                  WHERE v.contact_id = c.id AND m.direction = 'in' AND m.sender = 'parent'
                    AND (m.provider_id IS NULL OR m.provider_id NOT LIKE 'sim-%%'))
"""


class Migration(migrations.Migration):

    dependencies = [
        ("kumon", "0004_unit_franchise_admin_permission"),
        ("conversations", "0002_turn_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="simulated",
            field=models.BooleanField(db_default=False, default=False, verbose_name="simulator contact"),
        ),
        migrations.RunSQL(FORWARD, migrations.RunSQL.noop),
    ]
