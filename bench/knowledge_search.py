"""Knowledge search at scale: 100 units × 1,000 generated chunks (+ shared entries).

Measures, on its own database `kumon_bench` (created and dropped here; the `kumon` database is
never touched):
- embedding throughput of the configured model (chunks/s, batches of 64),
- hybrid search latency p50/p95 through `knowledge.search.search`, query embedding included
  (the query cache is cleared before each query),
- recall@5 of the vector part (of the production query: btree on unit + exact distance) against a
  numpy brute force over the unit's visible vectors, for 200 queries; and, for comparison,
  of a filtered HNSW scan with iterative scans (relaxed order),
- the plan PostgreSQL picks for the vector query.
Prints a table and writes bench/results/knowledge_search.json. Runs in ~2–3 minutes.

    .venv/bin/python bench/knowledge_search.py [--units 100] [--chunks 1000] [--queries 200]
        [--compare REF]

--compare REF also times the same queries through the `knowledge` package of git revision REF
(its search, catalogue and decision file, extracted to a temporary folder) on the same data,
in the same run: each code in its own fresh process, old / new / old / new, so that both meet
the same machine load; reported as `compare` (p50/p95 of each, all rounds together).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
# `--code DIR` (a child of --compare): DIR's `knowledge` package instead of this tree's.
if "--code" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1])
from bench.common import admin_connect, bench_database_url, percentile  # noqa: E402

RESULTS = BASE_DIR / "bench" / "results" / "knowledge_search.json"
BENCH_DB = "kumon_bench"

TOPICS = [
    ("mensalidade", "Quanto custa a mensalidade de {s}?", "A mensalidade de {s} é R$ {p},00 por mês."),
    ("matricula", "Qual a taxa de matrícula em {s}?", "A matrícula custa R$ {p},00, paga uma vez."),
    ("horario", "Qual o horário da unidade para {s}?", "Atendemos {s} das {h}h às 19h."),
    ("feriado", "Abre no feriado de {s}?", "No feriado de {s} a unidade fica fechada."),
    ("ferias", "Tem aula nas férias de {s}?", "Nas férias de {s} o aluno estuda em casa."),
    ("reposicao", "Como repor a aula de {s}?", "A aula de {s} pode ser reposta na semana."),
    ("material", "O material de {s} está incluso?", "O material de {s} está incluso na mensalidade."),
    ("idade", "Com que idade começa {s}?", "{s} pode começar a partir dos {h} anos."),
    ("endereco", "Onde fica a unidade {s}?", "A unidade {s} fica na rua {s}, número {p}."),
    ("estacionamento", "Tem estacionamento perto de {s}?", "Há estacionamento conveniado perto de {s}."),
]
SUBJECTS = [
    "matemática",
    "português",
    "inglês",
    "japonês",
    "leitura",
    "cálculo",
    "redação",
    "gramática",
    "frações",
    "álgebra",
    "geometria",
    "interpretação",
    "vocabulário",
    "conversação",
    "escrita",
    "tabuada",
    "equações",
    "ortografia",
    "pronúncia",
    "caligrafia",
]
# The catalogue topic each generated entry is linked to (knowledge/catalogue/*.json), so the
# search's topic branch (entries of the message's nearest topics) runs as in production.
TOPIC_OF = {
    "mensalidade": "mensalidade",
    "matricula": "taxa-matricula",
    "horario": "horario-funcionamento",
    "feriado": "feriados",
    "ferias": "ferias-escolares",
    "reposicao": "reposicao-falta",
    "material": "material-incluso",
    "idade": "idade-minima",
    "endereco": "endereco",
    "estacionamento": "estacionamento",
}
QUERY_TEMPLATES = [
    "oi boa tarde, qto custa {s}?",
    "vcs abrem no feriado de {s}?",
    "tem aula de {s} nas ferias?",
    "como faço pra repor {s}?",
    "o material de {s} ta incluso?",
    "com q idade pode fazer {s}?",
    "onde fica a unidade de {s}?",
    "tem onde estacionar perto de {s}?",
    "qual a taxa de matricula pra {s}?",
    "que horas vcs atendem {s}?",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--texts", type=int, default=4000, help="distinct texts embedded (vectors reused + noise)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the kumon_bench database (to inspect plans)"
    )
    parser.add_argument("--compare", default="", help="also time git revision REF's knowledge package")
    parser.add_argument("--code", default="", help=argparse.SUPPRESS)
    parser.add_argument("--latency-only", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.latency_only:
        os.environ.update(DATABASE_URL=bench_database_url(BENCH_DB), DJANGO_SETTINGS_MODULE="kumon.settings")
        os.environ.setdefault("SECRET_KEY", "bench-only-secret")
        print(json.dumps(latency_only(args.latency_only)))
        return

    url = bench_database_url(BENCH_DB)
    with admin_connect(url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {BENCH_DB}")
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="kumon.settings",
        HTTPS_ONLY="0",
        SECRET_KEY=os.environ.get("SECRET_KEY", "bench-only-secret"),
        CONN_MAX_AGE="0",
    )
    try:
        results = run(args)
        if args.compare:
            results["compare"] = compare(args.compare, results.pop("_queries"))
        results.pop("_queries", None)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with admin_connect(url) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
    _finish(results)


def _finish(results: dict) -> None:
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)


def run(args: argparse.Namespace) -> dict:
    import django

    django.setup()
    import numpy as np
    from django.core.management import call_command
    from django.db import connection
    from pgvector.psycopg import register_vector

    from knowledge import search as knowledge_search
    from knowledge import services
    from knowledge.embeddings import get_embedder
    from knowledge.normalize import normalize
    from kumon.models import Unit

    timings: dict[str, float] = {}
    started = time.perf_counter()
    call_command("migrate", verbosity=0)  # every app: auth's permission names need its later migrations
    timings["migrate_s"] = time.perf_counter() - started
    rng = random.Random(7)
    nprng = np.random.default_rng(7)

    # 1. Embedding throughput on distinct generated texts.
    embedder = get_embedder()
    embedder.embed_documents(["aquecimento"])  # load the model outside the measurement
    texts = []
    for i in range(args.texts):
        key, q, a = TOPICS[i % len(TOPICS)]
        s = f"{SUBJECTS[(i // len(TOPICS)) % len(SUBJECTS)]} {i}"
        texts.append(f"{q}\n{a}".format(s=s, p=100 + i % 400, h=6 + i % 10))
    t0 = time.perf_counter()
    base_vectors = embedder.embed_documents([normalize(t) for t in texts])
    embed_s = time.perf_counter() - t0

    # 2. Data: units, sources, chunks (vectors = a base text's vector + small noise, renormalised).
    units = Unit.objects.bulk_create(
        Unit(
            slug=f"bench-{u}",
            name=f"Kumon Bench {u}",
            evolution_instance=f"bench-{u}",
            webhook_secret=f"s{u}",
        )
        for u in range(args.units)
    )
    shared_n = 20
    rows = []  # (source_id, unit_id or None, text_index)
    sid = 0
    for unit in [None, *units]:
        for _ in range(shared_n if unit is None else args.chunks):
            sid += 1
            rows.append((sid, unit.pk if unit else None, rng.randrange(len(texts))))
    noise = nprng.normal(0, 0.03, size=(len(rows), base_vectors.shape[1])).astype(np.float32)
    vectors = base_vectors[[r[2] for r in rows]] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    t0 = time.perf_counter()
    raw = connection.connection
    register_vector(raw)
    with raw.cursor() as cur:
        cur.execute("DROP INDEX IF EXISTS chunk_embedding_hnsw")  # built once after the load
        with cur.copy(
            "COPY knowledge_source (id, unit_id, kind, external_id, title, question, answer, published, "
            "index_status, index_error, index_attempts, content_hash, document, created_at, updated_at, "
            "topic, topic_origin) "
            "FROM STDIN"
        ) as copy:
            for source_id, unit_id, ti in rows:
                question, answer = texts[ti].split("\n", 1)
                copy.write_row(
                    (
                        source_id,
                        unit_id,
                        "faq",
                        f"e{source_id}",
                        "",
                        question,
                        answer,
                        True,
                        "indexed",
                        "",
                        0,
                        "",
                        "",
                        "now",
                        "now",
                        TOPIC_OF[TOPICS[ti % len(TOPICS)][0]],
                        "auto",
                    )
                )
        cur.execute("SELECT setval(pg_get_serial_sequence('knowledge_source', 'id'), %s)", [sid])
        with cur.copy(
            "COPY knowledge_chunk (source_id, unit_id, ordinal, role, text, embedding, embedding_model, "
            "created_at) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "int4", "varchar", "text", "vector", "varchar", "timestamptz"])
            import datetime as dt

            now = dt.datetime.now(dt.UTC)
            for (source_id, unit_id, ti), vec in zip(rows, vectors, strict=True):
                copy.write_row((source_id, unit_id, 0, "entry", texts[ti], vec, embedder.name, now))
        cur.execute(
            "UPDATE knowledge_chunk c SET search_vector = to_tsvector('pt_unaccent', v.t) "
            "FROM (SELECT id, text AS t FROM knowledge_chunk) v WHERE v.id = c.id"
        )
        cur.execute(
            "INSERT INTO knowledge_indexstate (id, model_name, dimensions, updated_at) "
            "VALUES (1, %s, %s, now())",
            [embedder.name, embedder.dimensions()],
        )
    raw.commit() if not raw.autocommit else None
    with raw.cursor() as cur:
        # What autovacuum does shortly after a bulk load: the UPDATE above left a dead version of
        # every row, which would double the heap and index entries the searches read.
        raw.autocommit = True
        cur.execute("VACUUM ANALYZE knowledge_chunk")
        cur.execute("VACUUM ANALYZE knowledge_source")
    timings["load_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SET max_parallel_maintenance_workers = 2")
    services.rebuild_vector_index(dimensions=embedder.dimensions())
    with connection.cursor() as cur:
        cur.execute("ANALYZE knowledge_chunk")
    timings["hnsw_build_s"] = time.perf_counter() - t0

    # 3. Queries: distinct parent-style messages, random units.
    queries = []
    for i in range(args.queries):
        template = QUERY_TEMPLATES[i % len(QUERY_TEMPLATES)]
        queries.append(
            (rng.choice(units), template.format(s=f"{rng.choice(SUBJECTS)} {rng.randrange(10_000)}"))
        )

    # Ground truth: every visible vector of each queried unit (own + shared), brute force.
    unit_rows: dict[int, tuple[list[int], np.ndarray]] = {}
    ids_arr = np.arange(1, len(rows) + 1)
    unit_of = np.array([r[1] or 0 for r in rows])
    with connection.cursor() as cur:
        cur.execute("SELECT source_id, id FROM knowledge_chunk")
        chunk_of_source = dict(cur.fetchall())

    def visible(unit_id: int) -> tuple[list[int], np.ndarray]:
        if unit_id not in unit_rows:
            mask = (unit_of == unit_id) | (unit_of == 0)
            unit_rows[unit_id] = ([chunk_of_source[s] for s in ids_arr[mask]], vectors[mask])
        return unit_rows[unit_id]

    latencies, sql_ms, embed_ms, recall_exact, recall_hnsw, hnsw_ms = [], [], [], [], [], []
    search_sql = knowledge_search._HYBRID_SQL
    hnsw_sql = (
        "SELECT c.id FROM knowledge_chunk c WHERE c.unit_id = %(unit)s AND vector_dims(c.embedding) = %(d)s "
        "ORDER BY c.embedding::vector({d}) <=> %(qv)s::vector({d}) LIMIT 5"
    ).format(d=embedder.dimensions())
    # The searches first, on their own: the brute-force truth below is a BLAS product whose
    # threads, woken between two searches, would be timed with the next one.
    knowledge_search.search(unit=queries[0][0], query="aquecimento", record_gap=False)
    for unit, text in queries:
        embedder._cache.clear()
        t0 = time.perf_counter()
        result = knowledge_search.search(unit=unit, query=text, limit=5, record_gap=False)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert result.hits is not None
    for unit, text in queries:
        embedder._cache.clear()
        t0 = time.perf_counter()
        qv = embedder.embed_query(normalize(text))
        embed_ms.append((time.perf_counter() - t0) * 1000)
        params = {
            "model": embedder.name,
            "unit": unit.pk,
            "qv": knowledge_search._vector_literal(qv),
            "k": 5,
            "d": embedder.dimensions(),
            "qt": normalize(text),
            "topics": list(TOPIC_OF.values())[:6],
            "kt": knowledge_search.TOPIC_ENTRIES,
        }
        ids, mat = visible(unit.pk)
        truth = {ids[i] for i in np.argsort(-(mat @ qv))[:5]}
        with connection.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(search_sql, {**params, "k": knowledge_search.CANDIDATES})
            # The vector part of the production query: its 5 rows of highest similarity.
            got = {r[0] for r in sorted(cur.fetchall(), key=lambda r: (-r[2], r[0]))[:5]}
            sql_ms.append((time.perf_counter() - t0) * 1000)
        recall_exact.append(len(got & truth) / 5)
        own_ids, own_mat = ids[shared_n:], mat[shared_n:]  # unit rows only for the HNSW comparison
        own_truth = {own_ids[i] for i in np.argsort(-(own_mat @ qv))[:5]}
        with connection.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            cur.execute("SET LOCAL hnsw.ef_search = 40")
            t0 = time.perf_counter()
            cur.execute(hnsw_sql, params)
            got_hnsw = {r[0] for r in cur.fetchall()}
            hnsw_ms.append((time.perf_counter() - t0) * 1000)
            cur.execute("COMMIT")
        recall_hnsw.append(len(got_hnsw & own_truth) / 5)
    with connection.cursor() as cur:
        unit, text = queries[0]
        qv = embedder.embed_query(normalize(text))
        cur.execute(
            "EXPLAIN " + search_sql,
            {
                "model": embedder.name,
                "unit": unit.pk,
                "qv": knowledge_search._vector_literal(qv),
                "k": 40,
                "topics": list(TOPIC_OF.values())[:6],
                "kt": knowledge_search.TOPIC_ENTRIES,
                "qt": normalize(text),
            },
        )
        plan = [r[0] for r in cur.fetchall()]

    return {
        "_queries": [(unit.pk, text) for unit, text in queries],
        "model": embedder.name,
        "dimensions": embedder.dimensions(),
        "units": args.units,
        "chunks_per_unit": args.chunks,
        "shared_chunks": shared_n,
        "total_chunks": len(rows),
        "queries": len(queries),
        "embedding_throughput_chunks_per_s": round(len(texts) / embed_s, 1),
        "hybrid_search_p50_ms": round(statistics.median(latencies), 2),
        "hybrid_search_p95_ms": round(percentile(latencies, 95), 2),
        "hybrid_sql_p50_ms": round(statistics.median(sql_ms), 2),
        "hybrid_sql_p95_ms": round(percentile(sql_ms, 95), 2),
        "query_embedding_p50_ms": round(statistics.median(embed_ms), 2),
        "vector_recall_at_5": round(statistics.mean(recall_exact), 4),
        "hnsw_iterative_recall_at_5": round(statistics.mean(recall_hnsw), 4),
        "hnsw_iterative_p95_ms": round(percentile(hnsw_ms, 95), 2),
        "vector_plan": plan,
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        **{k: round(v, 1) for k, v in timings.items()},
    }


def latency_only(path: Path) -> dict:
    """A child process of `compare`: search each (unit id, text) of the file, query embedding
    included (its cache cleared before each), after one warm-up search (model, catalogue)."""
    import django
    from django.conf import settings

    settings.INSTALLED_APPS  # noqa: B018 -- loading the settings puts this tree first on sys.path
    if "--code" in sys.argv:
        sys.path.insert(0, sys.argv[sys.argv.index("--code") + 1])
    django.setup()
    from knowledge import search as knowledge_search
    from knowledge.embeddings import get_embedder
    from kumon.models import Unit

    queries = json.loads(path.read_text())
    units = Unit.objects.in_bulk({u for u, _ in queries})
    embedder = get_embedder()
    knowledge_search.search(unit=units[queries[0][0]], query="aquecimento", record_gap=False)
    latencies = []
    for unit_id, text in queries:
        embedder._cache.clear()
        t0 = time.perf_counter()
        knowledge_search.search(unit=units[unit_id], query=text, limit=5, record_gap=False)
        latencies.append((time.perf_counter() - t0) * 1000)
    return {"code": knowledge_search.__file__, "latencies": latencies}


def compare(ref: str, queries: list) -> dict:
    """Time `ref`'s knowledge package and this tree's on the same queries, alternating."""
    with tempfile.TemporaryDirectory(prefix="kn-bench-") as tmp:
        old = Path(tmp) / "old"
        old.mkdir()
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref, "knowledge"],
            cwd=BASE_DIR,
            check=True,
            capture_output=True,
        ).stdout
        archive_path = Path(tmp) / "old.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(old, filter="data")
        queries_path = Path(tmp) / "queries.json"
        queries_path.write_text(json.dumps(queries))
        runs: dict[str, list[float]] = {"old": [], "new": []}
        for name in ("old", "new", "old", "new"):
            command = [sys.executable, str(Path(__file__).resolve()), "--latency-only", str(queries_path)]
            if name == "old":
                command += ["--code", str(old)]
            out = subprocess.run(command, cwd=BASE_DIR, check=True, capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
            assert (str(old) in result["code"]) == (name == "old"), result["code"]
            runs[name] += result["latencies"]
    return {
        "ref": ref,
        **{
            f"{name}_{stat}_ms": round(value, 2)
            for name, values in runs.items()
            for stat, value in (("p50", statistics.median(values)), ("p95", percentile(values, 95)))
        },
        "searches_each": len(runs["new"]),
    }


def print_table(r: dict) -> None:
    rows = [
        ("model", f"{r['model']} ({r['dimensions']} dims)"),
        ("data", f"{r['units']} units × {r['chunks_per_unit']} chunks + {r['shared_chunks']} shared"),
        ("embedding throughput", f"{r['embedding_throughput_chunks_per_s']} chunks/s"),
        (
            "hybrid search p50 / p95",
            f"{r['hybrid_search_p50_ms']} / {r['hybrid_search_p95_ms']} ms (query embedding included)",
        ),
        ("query embedding p50", f"{r['query_embedding_p50_ms']} ms"),
        (
            "hybrid SQL p50 / p95",
            f"{r['hybrid_sql_p50_ms']} / {r['hybrid_sql_p95_ms']} ms (vector + full text, one query)",
        ),
        ("vector recall@5 vs exact", f"{r['vector_recall_at_5']}  ({r['queries']} queries, unit filter)"),
        (
            "HNSW iterative recall@5",
            f"{r['hnsw_iterative_recall_at_5']}  (p95 {r['hnsw_iterative_p95_ms']} ms, comparison only)",
        ),
        ("load / HNSW build", f"{r['load_s']} s / {r['hnsw_build_s']} s"),
        ("machine load (1 min)", f"{r['loadavg_1m']} on {r['cpus']} CPUs (other processes share them)"),
    ]
    if "compare" in r:
        c = r["compare"]
        rows.append(
            (
                f"same run: {c['ref']} / this tree",
                f"p50 {c['old_p50_ms']} / {c['new_p50_ms']} ms, p95 {c['old_p95_ms']} / {c['new_p95_ms']} ms "
                f"({c['searches_each']} searches each, alternating processes)",
            )
        )
    width = max(len(k) for k, _ in rows)
    print("knowledge search bench")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(f"  plan: {' / '.join(line.strip() for line in r['vector_plan'][:6])}")
    print(f"  → {RESULTS.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
