"""The search reads one table: a unit's chunks by `knowledge_chunk.unit_id`, minus its unpublished
entries (a partial index, usually empty), with no join on the sources.

That relies on a chunk's `unit_id` always being its source's, so the database keeps it so: a
trigger sets it from the source on every chunk insert/update, and a change of a source's unit
moves its chunks along.
"""

from django.db import migrations, models

SYNC_SQL = """
CREATE FUNCTION knowledge_chunk_unit_from_source() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.unit_id INTO NEW.unit_id FROM knowledge_source s WHERE s.id = NEW.source_id;
    RETURN NEW;
END $$;
CREATE TRIGGER knowledge_chunk_unit_from_source
    BEFORE INSERT OR UPDATE OF unit_id, source_id ON knowledge_chunk
    FOR EACH ROW EXECUTE FUNCTION knowledge_chunk_unit_from_source();

CREATE FUNCTION knowledge_source_unit_to_chunks() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE knowledge_chunk SET unit_id = NEW.unit_id WHERE source_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER knowledge_source_unit_to_chunks
    AFTER UPDATE OF unit_id ON knowledge_source
    FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id)
    EXECUTE FUNCTION knowledge_source_unit_to_chunks();

UPDATE knowledge_chunk c SET unit_id = s.unit_id
FROM knowledge_source s WHERE s.id = c.source_id AND c.unit_id IS DISTINCT FROM s.unit_id;
"""

UNSYNC_SQL = """
DROP TRIGGER knowledge_source_unit_to_chunks ON knowledge_source;
DROP FUNCTION knowledge_source_unit_to_chunks();
DROP TRIGGER knowledge_chunk_unit_from_source ON knowledge_chunk;
DROP FUNCTION knowledge_chunk_unit_from_source();
"""


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0004_chunk_embedding_storage_main")]

    operations = [
        migrations.AddIndex(
            model_name="source",
            index=models.Index(
                condition=models.Q(("published", False)), fields=["unit"], name="source_unpublished_idx"
            ),
        ),
        migrations.RunSQL(sql=SYNC_SQL, reverse_sql=UNSYNC_SQL),
    ]
