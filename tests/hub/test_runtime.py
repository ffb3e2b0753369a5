"""The serving process's collector settings (in a child process: freezing is for good)."""

from __future__ import annotations

import json
import subprocess
import sys

from hub.runtime import OLDER_THRESHOLDS, YOUNG_THRESHOLD

PROBE = """
import gc, json
from hub.runtime import tune_gc_for_serving
before = gc.get_freeze_count()
tune_gc_for_serving()
print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold()]))
"""


def test_serving_freezes_what_was_loaded_and_collects_the_young_less_often() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    before, after, thresholds = json.loads(done.stdout)
    assert before == 0 and after > 1000  # the hub's modules and their objects
    assert thresholds == [YOUNG_THRESHOLD, *OLDER_THRESHOLDS]
    assert YOUNG_THRESHOLD > 700  # CPython's default, which cost the hub 10-15 %
