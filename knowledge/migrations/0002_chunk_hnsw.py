"""HNSW index for the default embedding model (512 dims, Universal Sentence Encoder multilingual).

The column is an untyped `vector`; the index is on `embedding::vector(512)` and only covers rows
of that dimension. `knowledge reembed` drops and rebuilds it when the model's dimension changes.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX chunk_embedding_hnsw ON knowledge_chunk "
                "USING hnsw ((embedding::vector(512)) vector_cosine_ops) "
                "WHERE vector_dims(embedding) = 512;"
            ),
            reverse_sql="DROP INDEX IF EXISTS chunk_embedding_hnsw;",
        )
    ]
