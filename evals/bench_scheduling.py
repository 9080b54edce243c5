"""Benchmark: ranking meeting slots for 10 attendees over a month of busy data.

    python -m evals.bench_scheduling [--runs 20]

Prints the median and worst time of ``tools.scheduling.rank_slots`` for a
45-minute meeting with 10 attendees in five time zones, each with 1-3 busy
intervals per day for 31 days (seeded, so every run sees the same calendar).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tools.foundation.principals import Principal
from tools.providers.base import Busy
from tools.scheduling import Attendee, RankedSlot, rank_slots

ZONES = [None, "Europe/London", "America/New_York", "Asia/Kolkata", "Europe/Berlin"]


def month_of_meetings(seed: int = 5) -> tuple[Principal, list[Busy], list[Attendee], datetime]:
    """The principal, their own busy times, ten attendees and 'now'."""
    rng = random.Random(seed)
    p = Principal(id="bench", name="Bench", email="b@x.example", timezone="Europe/Berlin")
    tz = p.tz
    now = datetime(2026, 11, 23, 9, tzinfo=tz)
    people = []
    for i in range(10):
        busy = []
        for d in range(31):
            day = datetime(2026, 11, 23, tzinfo=tz) + timedelta(days=d)
            for _ in range(rng.randint(1, 3)):
                s = day + timedelta(hours=rng.randint(7, 18), minutes=rng.choice([0, 15, 30, 45]))
                busy.append(Busy(start=s, end=s + timedelta(minutes=rng.choice([30, 45, 60, 90]))))
        zone = ZONES[i % len(ZONES)]
        people.append(
            Attendee(email=f"p{i}@x.example", tz=ZoneInfo(zone) if zone else None, busy=busy)
        )
    return p, people[0].busy[::3], people, now


def rank(p: Principal, mine: list[Busy], people: list[Attendee], now: datetime) -> list[RankedSlot]:
    """One slot search: 45 minutes, 5-minute buffers, mornings preferred, best 5."""
    return rank_slots(
        p, mine, now, now + timedelta(days=31), timedelta(minutes=45), now=now,
        attendees=people, buffer=timedelta(minutes=5), prefer="morning", limit=5,
    )  # fmt: skip


def main() -> None:
    """Run the benchmark and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    p, mine, people, now = month_of_meetings()
    busy = sum(len(a.busy or []) for a in people) + len(mine)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        ranked = rank(p, mine, people, now)
        times.append((time.perf_counter() - t0) * 1000)
    print(f"slot finding: 10 attendees, {busy} busy intervals, 31 days, {args.runs} runs")
    print(f"  median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms")
    print(f"  best slot: {ranked[0].start:%a %d %b %H:%M} ({ranked[0].explanation})")


if __name__ == "__main__":
    main()
