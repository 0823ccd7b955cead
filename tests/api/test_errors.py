"""The API's contract for errors: documented in the OpenAPI schema, and kept."""

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from migration_toolkit.revisions import code_heads

# (method, path) -> the error statuses it documents besides 422 and 503.
ERRORS = {
    ("get", "/authors/{author_id}"): {"404"},
    ("patch", "/authors/{author_id}"): {"404"},
    ("delete", "/authors/{author_id}"): {"404", "409"},
    ("post", "/books"): {"409"},
    ("get", "/books/{book_id}"): {"404"},
    ("patch", "/books/{book_id}"): {"404", "409"},
    ("delete", "/books/{book_id}"): {"404"},
}


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema: dict[str, Any] = response.json()
    return schema


def body_of(operation: dict[str, Any], code: str) -> str:
    ref: str = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[-1]


async def test_404_and_409_are_documented_with_their_body(openapi: dict[str, Any]) -> None:
    for (method, path), codes in ERRORS.items():
        operation = openapi["paths"][path][method]
        documented = set(operation["responses"]) - {"200", "201", "204", "422", "503"}
        assert documented == codes, (method, path, documented)
        for code in codes:
            assert body_of(operation, code) == "ErrorBody"
    error_body = openapi["components"]["schemas"]["ErrorBody"]
    assert error_body["properties"]["detail"]["type"] == "string"


async def test_every_database_endpoint_documents_the_503(openapi: dict[str, Any]) -> None:
    for path, operations in openapi["paths"].items():
        if not path.startswith(("/authors", "/books")):
            continue
        for operation in operations.values():
            assert body_of(operation, "503") == "SchemaMismatchBody", path
    body = openapi["components"]["schemas"]["SchemaMismatchBody"]
    assert set(body["properties"]) == {"detail", "database", "code"}


async def test_patch_fields_are_optional_but_never_null(openapi: dict[str, Any]) -> None:
    for name in ("AuthorUpdate", "BookUpdate"):
        schema = openapi["components"]["schemas"][name]
        assert "required" not in schema
        for field in schema["properties"].values():
            assert "anyOf" not in field and "default" not in field, (name, field)


async def create_author(client: httpx.AsyncClient) -> int:
    response = await client.post("/authors", json={"name": "Octavia E. Butler"})
    assert response.status_code == 201, response.text
    author_id: int = response.json()["id"]
    return author_id


async def test_explicit_null_for_a_required_field_is_422(client: httpx.AsyncClient) -> None:
    author_id = await create_author(client)
    response = await client.patch(f"/authors/{author_id}", json={"name": None})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "name"]
    assert (await client.get(f"/authors/{author_id}")).json()["name"] == "Octavia E. Butler"

    book = await client.post("/books", json={"title": "Kindred", "author_id": author_id})
    book_id = book.json()["id"]
    for field in ("title", "author_id"):
        response = await client.patch(f"/books/{book_id}", json={field: None})
        assert response.status_code == 422, (field, response.text)
    assert (await client.get(f"/books/{book_id}")).json() == book.json()
    assert (await client.post("/authors", json={"name": None})).status_code == 422


def assert_schema_mismatch(response: httpx.Response, database: list[str]) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["database"] == database
    assert body["code"] == list(code_heads())
    assert "the database has to be migrated" in body["detail"]


async def test_a_missing_table_is_503_naming_both_revisions(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # The schema rolled back to base while this code (at head) serves.
    for statement in ("DROP TABLE book", "DROP TABLE author", "DELETE FROM alembic_version"):
        await connection.execute(text(statement))
    response = await client.get("/authors")
    assert_schema_mismatch(response, [])
    assert "(at base)" in response.json()["detail"]
    assert_schema_mismatch(await client.post("/authors", json={"name": "x"}), [])


async def test_a_missing_column_is_503_naming_both_revisions(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    await connection.execute(text("ALTER TABLE book DROP COLUMN title"))
    await connection.execute(text("UPDATE alembic_version SET version_num = 'older0000000'"))
    response = await client.get("/books")
    assert_schema_mismatch(response, ["older0000000"])
