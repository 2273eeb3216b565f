"""Keep a chunk's vector, text and full-text vector inline in its heap row.

A 512-dim vector is ~2 KB, right at PostgreSQL's default TOAST threshold (2 KB per row): the
toaster then compresses and moves the text and tsvector (or the vector) out of line, and every
per-unit scan pays a TOAST fetch and decompression per row, for the exact-distance scan and the
full-text match alike. Rows stay inline up to 8 KB (a 1,536-dim API vector still fits).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_phrasings_gaps_overrides")]

    operations = [
        migrations.RunSQL(
            sql=(
                "ALTER TABLE knowledge_chunk SET (toast_tuple_target = 8160);"
                "ALTER TABLE knowledge_chunk ALTER COLUMN embedding SET STORAGE MAIN;"
            ),
            reverse_sql=(
                "ALTER TABLE knowledge_chunk RESET (toast_tuple_target);"
                "ALTER TABLE knowledge_chunk ALTER COLUMN embedding SET STORAGE EXTERNAL;"
            ),
        )
    ]
