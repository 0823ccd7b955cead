"""A database with real rows for the plan's tests, and the plan of a piece of SQL on it."""

from collections.abc import Callable

from sqlalchemy.engine import URL

from migration_toolkit.plan import catalog as catalogs
from migration_toolkit.plan import source
from migration_toolkit.plan.classify import Classifier
from migration_toolkit.plan.connect import connect
from migration_toolkit.plan.estimate import Estimate, Rates, estimate
from tests.support import pg

FIRST = "8ef2faae17b8"
AUTHORS = 1_000
# Fixed rates, so that the classification tests do not depend on the machine's speed.
RATES = Rates(
    scan_bytes_per_s=1e9,
    rewrite_bytes_per_s=1e8,
    index_row_s_text=1e-6,
    index_row_s_other=5e-7,
    update_row_s=1e-5,
    source="fixed test rates",
)


def fill(url: URL, books: int) -> None:
    """author and book (at the first revision already) get rows; statistics are taken."""
    pg.execute(
        url,
        f"INSERT INTO author (name) SELECT 'Author ' || g FROM generate_series(1, {AUTHORS}) g",
        "ALTER TABLE book DROP CONSTRAINT fk_book_author_id_author",
        f"INSERT INTO book (title, author_id) SELECT 'Book ' || md5(g::text), 1 + g % {AUTHORS} "
        f"FROM generate_series(1, {books}) g",
        "ALTER TABLE book ADD CONSTRAINT fk_book_author_id_author FOREIGN KEY (author_id) "
        "REFERENCES author (id)",
        "VACUUM ANALYZE",
    )


def load_catalog(url: URL) -> catalogs.Catalog:
    async def read() -> catalogs.Catalog:
        connection = await connect(url)
        try:
            return await catalogs.load(connection)
        finally:
            await connection.close()

    return pg.run_sync(read)


def plan_sql(url: URL, sql: str, threshold: float = 1.0, rates: Rates = RATES) -> list[Estimate]:
    """The estimates of the statements of sql (BEGIN/COMMIT make transactions) on url."""
    catalog = load_catalog(url)
    statements = source.statements("test", sql, source.Groups())
    classifier = Classifier(catalog)
    analyses = [classifier.analyse(statement) for statement in statements]
    return estimate(analyses, catalog, rates, threshold)


def only(url: URL, sql: str, threshold: float = 1.0) -> Estimate:
    found = plan_sql(url, sql, threshold)
    assert len(found) == 1, [e.analysis.sql for e in found]
    return found[0]


def locks(found: Estimate) -> dict[str, str]:
    return {table: mode.label for table, mode in found.analysis.strongest().items()}


Factory = Callable[[], URL]
