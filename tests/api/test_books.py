import httpx
import pytest

from tests.api.test_authors import create_author


async def create_book(client: httpx.AsyncClient, author_id: int, title: str = "Earthsea") -> int:
    response = await client.post("/books", json={"title": title, "author_id": author_id})
    assert response.status_code == 201, response.text
    book_id: int = response.json()["id"]
    return book_id


async def test_create_then_get(client: httpx.AsyncClient) -> None:
    author_id = await create_author(client)
    book_id = await create_book(client, author_id)
    response = await client.get(f"/books/{book_id}")
    assert response.json() == {"id": book_id, "title": "Earthsea", "author_id": author_id}


async def test_list_filters_by_author_and_paginates(client: httpx.AsyncClient) -> None:
    first = await create_author(client, "first")
    second = await create_author(client, "second")
    ids = [await create_book(client, first, f"book {n}") for n in range(3)]
    await create_book(client, second, "other")
    response = await client.get("/books", params={"author_id": first, "limit": 2, "offset": 1})
    assert [b["id"] for b in response.json()] == ids[1:3]


async def test_update_and_move_to_another_author(client: httpx.AsyncClient) -> None:
    first = await create_author(client, "first")
    second = await create_author(client, "second")
    book_id = await create_book(client, first)
    response = await client.patch(f"/books/{book_id}", json={"title": "New", "author_id": second})
    assert response.status_code == 200
    assert response.json() == {"id": book_id, "title": "New", "author_id": second}


async def test_book_of_missing_author_is_409(client: httpx.AsyncClient) -> None:
    response = await client.post("/books", json={"title": "Orphan", "author_id": 424242})
    assert response.status_code == 409
    assert "author 424242 does not exist" in response.json()["detail"]
    author_id = await create_author(client)
    book_id = await create_book(client, author_id)
    moved = await client.patch(f"/books/{book_id}", json={"author_id": 424242})
    assert moved.status_code == 409


async def test_delete_then_gone(client: httpx.AsyncClient) -> None:
    book_id = await create_book(client, await create_author(client))
    assert (await client.delete(f"/books/{book_id}")).status_code == 204
    assert (await client.get(f"/books/{book_id}")).status_code == 404


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
async def test_missing_book_is_404(client: httpx.AsyncClient, method: str) -> None:
    body = {"title": "x"} if method == "patch" else None
    response = await client.request(method.upper(), "/books/999999", json=body)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "x"},
        {"title": "", "author_id": 1},
        {"title": "x", "author_id": "one"},
        {"title": "x", "author_id": 0},
        {"title": "x", "author_id": 99999999999},
    ],
)
async def test_invalid_book_is_422(client: httpx.AsyncClient, payload: object) -> None:
    response = await client.post("/books", json=payload)
    assert response.status_code == 422
