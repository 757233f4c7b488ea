"""How `oktually backfill` slices a range of days into runs: a few large runs, every day once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from oktually_pipeline.runs import _chunks


@pytest.mark.parametrize(("days", "per_run", "runs"), [(10, 7, 2), (7, 7, 1), (1, 7, 1), (3, 1, 3), (15, 7, 3)])
def test_a_range_becomes_few_runs_covering_every_day_once(days, per_run, runs):
    start = date(2026, 11, 1)
    end = start + timedelta(days=days - 1)
    chunks = list(_chunks(start, end, per_run))
    assert len(chunks) == runs
    covered = [lo + timedelta(days=i) for lo, hi in chunks for i in range((hi - lo).days + 1)]
    assert covered == [start + timedelta(days=i) for i in range(days)]
    assert all((hi - lo).days + 1 <= per_run for lo, hi in chunks)
