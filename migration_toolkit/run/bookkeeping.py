"""The migration bookkeeping (alembic_version, alembic_checksum) is written by its owner only.

The Deployment grants give the app role data rights on the owner's tables by default
privileges, which would include these two: an app that can delete a checksum row could let an
edited revision through, and one that writes alembic_version could make the database lie about
its schema. So after each run that changed something, write rights on both tables are revoked
from every role but their owner (reading stays: /health/ready reads alembic_version), and
`make migration-check` warns when some role can write them again.
"""

from sqlalchemy import text
from sqlalchemy.engine import Connection

from migration_toolkit.revisions import VERSION_TABLE
from migration_toolkit.run.checksums import CHECKSUM_TABLE

WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
_WRITERS = text(
    "SELECT DISTINCT c.oid::regclass::text AS relation, "
    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END "
    "AS grantee FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a "
    "WHERE c.oid IN (to_regclass(:versions), to_regclass(:checksums)) "
    "AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE') "
    "AND a.grantee <> c.relowner ORDER BY 1, 2"
)


def writers(connection: Connection) -> list[tuple[str, str]]:
    """(table, role) pairs: roles other than the owner that may write the bookkeeping."""
    rows = connection.execute(
        _WRITERS, {"versions": VERSION_TABLE, "checksums": CHECKSUM_TABLE}
    ).all()
    return [(str(row.relation), str(row.grantee)) for row in rows]


def protect(connection: Connection) -> None:
    """Revoke write rights on the bookkeeping from every role but its owner."""
    for relation, grantee in writers(connection):
        connection.exec_driver_sql(f"REVOKE {', '.join(WRITES)} ON {relation} FROM {grantee}")
