"""The intent model carries over to messages it was not built from: scored on the held-out lines
of the example files (every fifth line, never used to fit)."""

from __future__ import annotations

import pytest

from conversations.understanding.intents import HELD_OUT_EVERY, examples, held_out_accuracy

# Measured when the examples were written (see conversations/understanding/intents.py); a change
# of examples or model that loses more than a few points fails here.
ACCURACY_FLOOR = 0.70


@pytest.mark.django_db
def test_intent_accuracy_on_held_out_examples_stays_above_the_floor() -> None:
    accuracy, misses = held_out_accuracy()
    assert accuracy >= ACCURACY_FLOOR, f"accuracy {accuracy:.3f}; misses: {misses}"


def test_every_intent_has_held_out_examples() -> None:
    by_intent: dict[str, list[bool]] = {}
    for e in examples():
        by_intent.setdefault(str(e.intent), []).append(e.held_out)
    assert all(any(flags) for flags in by_intent.values())
    assert all(len(flags) >= HELD_OUT_EVERY for flags in by_intent.values())
