"""Test settings: the real settings with the broker and cache on their own Redis database, so
a running `make run` worker never takes a test's tasks (and the reverse)."""

import os

os.environ["REDIS_URL"] = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Tests answer at once unless a test sets a debounce itself.
os.environ.setdefault("CONVERSATION_DEBOUNCE_SECONDS", "0")

from kumon.settings import *  # noqa: E402,F403
