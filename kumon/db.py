"""Database helpers shared by the apps' services."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def insert_unless_conflict(obj: Model, *, conflict: str) -> bool:
    """INSERT `obj` … ON CONFLICT `conflict` DO NOTHING RETURNING id: one round trip and no
    savepoint, safe against concurrent inserts of the same key. Sets obj.pk and returns True
    when the row was inserted; False when the key already existed (obj.pk stays None).

    `conflict` is the conflict target, e.g. "(unit_id, phone)" or, for a partial unique index,
    "(unit_id, provider_id) WHERE provider_id IS NOT NULL".
    """
    meta = obj._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    table = connection.ops.quote_name(meta.db_table)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "
            f"ON CONFLICT {conflict} DO NOTHING RETURNING {connection.ops.quote_name(str(meta.pk.column))}",
            values,
        )
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    return True
