import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from migration_toolkit.revisions import code_heads


async def test_health_is_up(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_at_head(client: httpx.AsyncClient) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["database"] == list(code_heads()) == response.json()["code"]


async def test_not_ready_when_database_is_behind(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(text("UPDATE alembic_version SET version_num = 'behind0000'"))
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json() == {
        "status": "schema out of date",
        "database": ["behind0000"],
        "code": list(code_heads()),
    }


async def test_not_ready_when_never_migrated(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(text("DROP TABLE alembic_version"))
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["database"] == []
