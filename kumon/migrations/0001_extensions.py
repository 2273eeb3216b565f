"""PostgreSQL extensions and the Portuguese accent-insensitive text search configuration."""

from django.contrib.postgres.operations import BtreeGistExtension, UnaccentExtension
from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    initial = True
    dependencies: list = []

    operations = [
        VectorExtension(),
        BtreeGistExtension(),
        UnaccentExtension(),
        migrations.RunSQL(
            sql="""
            DO $$ BEGIN
              IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'pt_unaccent') THEN
                CREATE TEXT SEARCH CONFIGURATION pt_unaccent (COPY = portuguese);
                ALTER TEXT SEARCH CONFIGURATION pt_unaccent
                  ALTER MAPPING FOR hword, hword_part, word WITH unaccent, portuguese_stem;
              END IF;
            END $$;
            """,
            reverse_sql="DROP TEXT SEARCH CONFIGURATION IF EXISTS pt_unaccent;",
        ),
    ]
