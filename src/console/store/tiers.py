"""Which small segments to merge next: the plan alone, no Arrow.

A live log adds one small segment per refresh. Merging them all at once every so often (24 at a time, as
before) made one refresh in 24 take a second. Merges are now tiered, as an LSM tree's are: segments of
similar size (a tier) are merged `fanin` at a time, so a merge touches at most `fanin` segments of one
tier, never the whole backlog; its output joins the next tier up, and segments from `small_rows` up are
left alone. Each merge is one bounded step, run off the refresh (see `Warehouse.compact`). Apart from the
writing (`merge`): every refresh asks whether a merge is due, and a refresh that finds nothing new should not
import PyArrow to be told no.
"""

from __future__ import annotations


def tier(rows: int, fanin: int, tier_rows: int) -> int:
    """0 below `fanin * tier_rows` rows, then one up for each further factor of `fanin`."""
    t, bound = 0, fanin * tier_rows
    while rows >= bound:
        t, bound = t + 1, bound * fanin
    return t


def pick(names: list[str], rows: dict[str, int], *, fanin: int, tier_rows: int, small_rows: int,
         max_rows: int) -> list[str]:
    """The next merge among one kind's segments (in manifest order): the oldest `fanin` small segments of the
    lowest tier that holds that many, fewer if they would pass `max_rows`; [] when none is due."""
    tiers: dict[int, list[str]] = {}
    for n in names:
        if rows[n] < small_rows:
            tiers.setdefault(tier(rows[n], fanin, tier_rows), []).append(n)
    for t in sorted(tiers):
        if len(tiers[t]) < fanin:
            continue
        batch, total = [], 0
        for n in tiers[t][:fanin]:
            if batch and total + rows[n] > max_rows:
                break
            batch.append(n)
            total += rows[n]
        if len(batch) > 1:
            return batch
    return []
