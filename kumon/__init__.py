import os

# One BLAS thread per process, set before anything imports numpy (this package is imported first
# by manage.py, gunicorn's kumon.wsgi and `celery -A kumon`). Web, worker processes and Postgres
# already share the cores; OpenBLAS's own threads on top busy-wait against them: building the
# intent model took 45 s instead of 6 s with two workers on a loaded 2-core machine, and the
# first turns of a fresh worker passed their 60 s soft time limit (issue #16, fault tests).
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from kumon.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
