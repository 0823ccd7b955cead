import httpx
import pytest


async def create_author(client: httpx.AsyncClient, name: str = "Ursula K. Le Guin") -> int:
    response = await client.post("/authors", json={"name": name})
    assert response.status_code == 201, response.text
    author_id: int = response.json()["id"]
    return author_id


async def test_create_then_get(client: httpx.AsyncClient) -> None:
    author_id = await create_author(client)
    response = await client.get(f"/authors/{author_id}")
    assert response.status_code == 200
    assert response.json() == {"id": author_id, "name": "Ursula K. Le Guin"}


async def test_list_is_paginated_in_id_order(client: httpx.AsyncClient) -> None:
    ids = [await create_author(client, f"author {n}") for n in range(5)]
    first = await client.get("/authors", params={"offset": 0, "limit": 2})
    second = await client.get("/authors", params={"offset": 2, "limit": 2})
    assert [a["id"] for a in first.json()] == ids[:2]
    assert [a["id"] for a in second.json()] == ids[2:4]


async def test_tests_are_isolated(client: httpx.AsyncClient) -> None:
    # Authors created by other tests were rolled back with their transaction.
    response = await client.get("/authors", params={"limit": 100})
    assert response.json() == []


async def test_update_changes_only_given_fields(client: httpx.AsyncClient) -> None:
    author_id = await create_author(client)
    response = await client.patch(f"/authors/{author_id}", json={"name": "U. K. Le Guin"})
    assert response.status_code == 200
    assert response.json()["name"] == "U. K. Le Guin"
    unchanged = await client.patch(f"/authors/{author_id}", json={})
    assert unchanged.json()["name"] == "U. K. Le Guin"


async def test_delete_then_gone(client: httpx.AsyncClient) -> None:
    author_id = await create_author(client)
    assert (await client.delete(f"/authors/{author_id}")).status_code == 204
    assert (await client.get(f"/authors/{author_id}")).status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
async def test_missing_author_is_404(client: httpx.AsyncClient, method: str) -> None:
    body = {"name": "x"} if method == "patch" else None
    response = await client.request(method.upper(), "/authors/999999", json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": "author 999999 not found"}


async def test_delete_author_with_books_is_409(client: httpx.AsyncClient) -> None:
    author_id = await create_author(client)
    await client.post("/books", json={"title": "The Dispossessed", "author_id": author_id})
    response = await client.delete(f"/authors/{author_id}")
    assert response.status_code == 409
    assert "still has 1 book" in response.json()["detail"]
    assert (await client.get(f"/authors/{author_id}")).status_code == 200


@pytest.mark.parametrize(
    "payload",
    [{}, {"name": ""}, {"name": "x" * 256}, {"name": None}, {"name": 12}],
)
async def test_invalid_author_is_422(client: httpx.AsyncClient, payload: object) -> None:
    response = await client.post("/authors", json=payload)
    assert response.status_code == 422


@pytest.mark.parametrize(
    "path",
    [
        "/authors/abc",
        "/authors/0",
        "/authors/99999999999",
        "/authors?limit=0",
        "/authors?limit=101",
        "/authors?offset=-1",
    ],
)
async def test_invalid_paths_are_422_not_500(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 422
