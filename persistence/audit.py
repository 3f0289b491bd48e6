"""An audit of the invariants the layer keeps, as a typed report anyone can run.

``await layer.audit()`` (or ``python -m persistence audit``) checks the database as it is:
every item exists exactly once and its owner exists; the movement ledger replays to every
item's owner (from the item's creation row, each move starts where the one before left it and
the last ends at the owner, moved or not); no container holds more items than its slots;
every stats document is within its bounds; no row is corrupt. The foreign keys and CHECKs
make most of these impossible for new writes; the audit finds rows older than those rules,
or written around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError as PydanticValidationError

from persistence.models.schema import stats_checks
from persistence.models.stats import stats_from_json

if TYPE_CHECKING:
    from persistence.db import Database

__all__ = ["AuditFinding", "AuditReport", "run_audit"]


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One broken invariant.

    Attributes:
        kind: Which invariant (``"orphan_item"``, ``"ledger_mismatch"``,
            ``"container_over_capacity"``, ``"container_over_weight"``,
            ``"stats_out_of_bounds"``, ``"corrupt_row"``, ``"duplicate_item"``,
            ``"placeholder_prototype"``).
        key: The row it is about (an item id, a container or player id).
        detail: What is wrong, in words.
    """

    kind: str
    key: str
    detail: str


@dataclass(frozen=True)
class AuditReport:
    """What the audit found: ``ok`` when nothing, otherwise every finding.

    Attributes:
        findings: Each broken invariant.
        counts: What was looked at (players, items, containers, ledger rows, total quantity).
    """

    findings: tuple[AuditFinding, ...] = ()
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether every invariant holds."""
        return not self.findings

    def of(self, kind: str) -> list[AuditFinding]:
        """The findings of one kind."""
        return [f for f in self.findings if f.kind == kind]

    def __str__(self) -> str:
        looked = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        if self.ok:
            return f"audit: every invariant holds ({looked})"
        lines = [f"audit: {len(self.findings)} finding(s) ({looked})"]
        lines += [f"  {f.kind}: {f.key}: {f.detail}" for f in self.findings]
        return "\n".join(lines)


# The audit's statements are hand-written: each checks a rule across tables (an owner of one
# of three kinds, each item's ledger replayed with window functions, counts per container) in
# one pass, which the query API cannot express; all are read-only.
_COUNTS: Final = """
SELECT (SELECT count(*) FROM players) AS players,
       (SELECT count(*) FROM item_instances) AS items,
       (SELECT COALESCE(sum(quantity), 0) FROM item_instances) AS quantity,
       (SELECT count(*) FROM containers) AS containers,
       (SELECT count(*) FROM item_movements) AS ledger_rows
"""
_DUPLICATES: Final = """
SELECT item_instance_id, count(*) AS n FROM item_instances
 GROUP BY item_instance_id HAVING count(*) > 1
"""
_ORPHANS: Final = """
SELECT i.item_instance_id, i.owner_type, i.owner_id FROM item_instances i
 WHERE (i.owner_type = 'player'
        AND NOT EXISTS (SELECT 1 FROM players p WHERE p.player_id::text = i.owner_id))
    OR (i.owner_type = 'container'
        AND NOT EXISTS (SELECT 1 FROM containers c WHERE c.container_id::text = i.owner_id))
    OR (i.owner_type = 'room'
        AND NOT EXISTS (SELECT 1 FROM rooms r WHERE r.room_id = i.owner_id))
 ORDER BY i.item_instance_id
"""
# Every item's ledger replayed in one pass: from its latest creation row (no from-owner; an
# id deleted and created again starts over), each move must start where the row before left
# the item, and the last row must end at its owner. An item with no creation row at all was
# written around the layer.
_LEDGER: Final = """
WITH starts AS (
    SELECT item_instance_id, max(id) AS start_id FROM item_movements
     WHERE from_owner_type IS NULL
     GROUP BY item_instance_id
), steps AS (
    SELECT m.item_instance_id, m.id, m.from_owner_type, m.from_owner_id,
           m.to_owner_type, m.to_owner_id,
           lag(m.to_owner_type) OVER w AS left_type, lag(m.to_owner_id) OVER w AS left_id
      FROM item_movements m
      JOIN starts s ON s.item_instance_id = m.item_instance_id AND m.id >= s.start_id
    WINDOW w AS (PARTITION BY m.item_instance_id ORDER BY m.id)
), replay AS (
    SELECT item_instance_id,
           min(id) FILTER (WHERE left_type IS NOT NULL AND (from_owner_type, from_owner_id)
                           IS DISTINCT FROM (left_type, left_id)) AS break_id,
           (array_agg(to_owner_type ORDER BY id DESC))[1] AS end_type,
           (array_agg(to_owner_id ORDER BY id DESC))[1] AS end_id
      FROM steps
     GROUP BY item_instance_id
)
SELECT i.item_instance_id, i.owner_type, i.owner_id, r.item_instance_id IS NOT NULL AS recorded,
       r.end_type, r.end_id, k.id AS break_id, k.from_owner_type AS break_type,
       k.from_owner_id AS break_owner, k.left_type, k.left_id
  FROM item_instances i
  LEFT JOIN replay r ON r.item_instance_id = i.item_instance_id
  LEFT JOIN steps k ON k.id = r.break_id
 WHERE r.item_instance_id IS NULL
    OR r.break_id IS NOT NULL
    OR (r.end_type, r.end_id) IS DISTINCT FROM (i.owner_type, i.owner_id)
 ORDER BY i.item_instance_id
"""
_OVER_CAPACITY: Final = """
SELECT c.container_id, c.capacity_slots, count(i.item_instance_id) AS held
  FROM containers c JOIN item_instances i
    ON i.owner_type = 'container' AND i.owner_id = c.container_id::text
 GROUP BY c.container_id, c.capacity_slots
HAVING count(i.item_instance_id) > c.capacity_slots
 ORDER BY c.container_id
"""
_OVER_WEIGHT: Final = """
SELECT c.container_id, c.weight_limit, sum(i.quantity::bigint * p.weight) AS weight
  FROM containers c
  JOIN item_instances i ON i.owner_type = 'container' AND i.owner_id = c.container_id::text
  JOIN item_prototypes p ON p.prototype_id = i.prototype_id
 WHERE c.weight_limit IS NOT NULL
 GROUP BY c.container_id, c.weight_limit
HAVING sum(i.quantity::bigint * p.weight) > c.weight_limit
 ORDER BY c.container_id
"""
_PLACEHOLDERS: Final = """
SELECT prototype_id FROM item_prototypes WHERE metadata @> '{"placeholder": true}'
 ORDER BY prototype_id
"""
_STATS: Final = "SELECT player_id, stats::text AS stats FROM players ORDER BY player_id"


def _bounds_sql(floor: int) -> str:
    """One query naming, per player, the stats CHECKs its document breaks."""
    cases = ", ".join(
        f"CASE WHEN jsonb_typeof(stats) = 'object' AND NOT ({condition}) THEN '{name}' END"
        for name, (_, condition) in stats_checks(floor).items()
    )
    # Constraint names and conditions come from the stat registry, not from any caller.
    return (
        "SELECT player_id, bad FROM (SELECT player_id, "  # noqa: S608 - registry constants
        f"array_remove(ARRAY[{cases}], NULL) AS bad FROM players) s"
        " WHERE cardinality(bad) > 0 ORDER BY player_id"
    )


def _ledger_detail(row: Any) -> str:
    """What is wrong with one item's ledger, in words (a row of ``_LEDGER``)."""
    owner = f"{row['owner_type']} {row['owner_id']}"
    if not row["recorded"]:
        return f"the ledger has no creation row for it (written around the layer); it is at {owner}"
    parts = []
    if row["break_id"] is not None:
        parts.append(
            f"ledger row {row['break_id']} moves it from {row['break_type']} "
            f"{row['break_owner']}, but the row before left it at {row['left_type']} "
            f"{row['left_id']}"
        )
    if (row["end_type"], row["end_id"]) != (row["owner_type"], row["owner_id"]):
        parts.append(f"the ledger ends at {row['end_type']} {row['end_id']}")
    return "; ".join(parts) + f"; the item is at {owner}"


async def run_audit(db: Database, *, health_floor: int) -> AuditReport:
    """Check every invariant on ``db`` (read-only) and report what is broken."""
    findings: list[AuditFinding] = []
    async with db.call() as client:

        async def rows(sql: str) -> list[Any]:
            return await db.fetch(client, sql, [])

        counts_row = (await rows(_COUNTS))[0]
        for row in await rows(_DUPLICATES):
            findings.append(
                AuditFinding("duplicate_item", row["item_instance_id"], f"{row['n']} rows")
            )
        for row in await rows(_ORPHANS):
            findings.append(
                AuditFinding(
                    "orphan_item",
                    row["item_instance_id"],
                    f"owned by {row['owner_type']} {row['owner_id']}, which does not exist",
                )
            )
        for row in await rows(_LEDGER):
            findings.append(
                AuditFinding("ledger_mismatch", row["item_instance_id"], _ledger_detail(row))
            )
        for row in await rows(_OVER_CAPACITY):
            findings.append(
                AuditFinding(
                    "container_over_capacity",
                    str(row["container_id"]),
                    f"holds {row['held']} items in {row['capacity_slots']} slots",
                )
            )
        for row in await rows(_OVER_WEIGHT):
            findings.append(
                AuditFinding(
                    "container_over_weight",
                    str(row["container_id"]),
                    f"holds weight {row['weight']} of {row['weight_limit']}",
                )
            )
        for row in await rows(_PLACEHOLDERS):
            findings.append(
                AuditFinding(
                    "placeholder_prototype",
                    row["prototype_id"],
                    "created by migration 5 for existing items of this id; an entry with "
                    "this prototype_id in the world's item_prototypes.json (seed_world) or "
                    "save_prototypes replaces it with a name and weight",
                )
            )
        for row in await rows(_bounds_sql(health_floor)):
            findings.append(
                AuditFinding(
                    "stats_out_of_bounds", str(row["player_id"]), f"breaks {', '.join(row['bad'])}"
                )
            )
        for row in await rows(_STATS):
            try:
                stats_from_json(row["stats"])  # as reads take it
            except PydanticValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc'])) or 'stats'}: {e['msg']}" for e in exc.errors()
                )
                findings.append(AuditFinding("corrupt_row", str(row["player_id"]), problems))
    counts = {key: int(counts_row[key]) for key in counts_row.keys()}  # noqa: SIM118 - a Record
    return AuditReport(findings=tuple(findings), counts=counts)
