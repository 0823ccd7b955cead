"""Postgres's table-level lock modes, and what each one keeps the application from doing.

From the PostgreSQL manual, "Explicit Locking", table 13.2 (conflicting lock modes). The
application reads with ACCESS SHARE (SELECT) and writes with ROW EXCLUSIVE (INSERT, UPDATE,
DELETE): a mode blocks reads when it conflicts with the first, writes with the second.
"""

from enum import IntEnum


class LockMode(IntEnum):
    """Ordered weakest first; the value is the mode's number in Postgres's source (lockdefs.h)."""

    ACCESS_SHARE = 1
    ROW_SHARE = 2
    ROW_EXCLUSIVE = 3
    SHARE_UPDATE_EXCLUSIVE = 4
    SHARE = 5
    SHARE_ROW_EXCLUSIVE = 6
    EXCLUSIVE = 7
    ACCESS_EXCLUSIVE = 8

    @property
    def label(self) -> str:
        """As the manual and pg_locks' `mode` column (AccessShareLock) spell it, in words."""
        return self.name.replace("_", " ")

    @property
    def blocks_reads(self) -> bool:
        return ACCESS_SHARE in CONFLICTS[self]

    @property
    def blocks_writes(self) -> bool:
        return ROW_EXCLUSIVE in CONFLICTS[self]

    @property
    def blocks(self) -> str:
        """What the application cannot do while this mode is held: reads and writes, ..."""
        if self.blocks_reads:
            return "reads and writes"
        if self.blocks_writes:
            return "writes"
        return "nothing"

    @classmethod
    def from_pg_locks(cls, mode: str) -> "LockMode":
        """pg_locks.mode (`ShareUpdateExclusiveLock`) to a LockMode."""
        words = mode.removesuffix("Lock")
        name = "".join(f"_{c}" if c.isupper() else c for c in words).strip("_").upper()
        return cls[name]


ACCESS_SHARE = LockMode.ACCESS_SHARE
ROW_SHARE = LockMode.ROW_SHARE
ROW_EXCLUSIVE = LockMode.ROW_EXCLUSIVE
SHARE_UPDATE_EXCLUSIVE = LockMode.SHARE_UPDATE_EXCLUSIVE
SHARE = LockMode.SHARE
SHARE_ROW_EXCLUSIVE = LockMode.SHARE_ROW_EXCLUSIVE
EXCLUSIVE = LockMode.EXCLUSIVE
ACCESS_EXCLUSIVE = LockMode.ACCESS_EXCLUSIVE

# Table 13.2: for each requested mode, the modes it conflicts with.
CONFLICTS: dict[LockMode, frozenset[LockMode]] = {
    ACCESS_SHARE: frozenset({ACCESS_EXCLUSIVE}),
    ROW_SHARE: frozenset({EXCLUSIVE, ACCESS_EXCLUSIVE}),
    ROW_EXCLUSIVE: frozenset({SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}),
    SHARE_UPDATE_EXCLUSIVE: frozenset(
        {SHARE_UPDATE_EXCLUSIVE, SHARE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}
    ),
    SHARE: frozenset(
        {ROW_EXCLUSIVE, SHARE_UPDATE_EXCLUSIVE, SHARE_ROW_EXCLUSIVE, EXCLUSIVE, ACCESS_EXCLUSIVE}
    ),
    SHARE_ROW_EXCLUSIVE: frozenset(
        {
            ROW_EXCLUSIVE,
            SHARE_UPDATE_EXCLUSIVE,
            SHARE,
            SHARE_ROW_EXCLUSIVE,
            EXCLUSIVE,
            ACCESS_EXCLUSIVE,
        }
    ),
    EXCLUSIVE: frozenset(
        {
            ROW_SHARE,
            ROW_EXCLUSIVE,
            SHARE_UPDATE_EXCLUSIVE,
            SHARE,
            SHARE_ROW_EXCLUSIVE,
            EXCLUSIVE,
            ACCESS_EXCLUSIVE,
        }
    ),
    ACCESS_EXCLUSIVE: frozenset(LockMode),
}
