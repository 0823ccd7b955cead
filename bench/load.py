"""A steady mixed read/write load on the books endpoints, one JSON line per request.

    python -m bench.load --base http://127.0.0.1:8000 --rate 200 --seconds 60 --out load.jsonl

Open loop: requests leave on schedule whether or not earlier ones answered, so a stall shows
up as latency (measured from the scheduled send time) instead of as a slower sender. Stops
after --seconds, --max-requests, or SIGTERM, and writes what it measured.

The client speaks HTTP/1.1 over asyncio streams itself: httpx costs about 7 ms of CPU per
request here, so at 200 requests/s it would take most of a core from the service it measures.
"""

import argparse
import asyncio
import contextlib
import json
import random
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

TIMEOUT = 5.0  # seconds: a request slower than this counts as failed, as behind a proxy


@dataclass
class Sample:
    kind: str
    sent: float  # scheduled send time, epoch seconds
    latency: float  # seconds from scheduled send to the answer (or the failure)
    status: int  # HTTP status; 0 when no answer came


def pick(rng: random.Random, books: int, authors: int) -> tuple[str, str, str, dict[str, object]]:
    """kind, method, path, JSON body: 60% get one, 15% list by author, 15% create, 10% edit."""
    roll = rng.random()
    if roll < 0.60:
        return "get", "GET", f"/books/{rng.randint(1, books)}", {}
    if roll < 0.75:
        return "list", "GET", f"/books?author_id={rng.randint(1, authors)}&limit=20", {}
    if roll < 0.90:
        body = {"title": f"load {rng.random():.6f}", "author_id": rng.randint(1, authors)}
        return "create", "POST", "/books", body
    return "edit", "PATCH", f"/books/{rng.randint(1, books)}", {"title": f"edit {rng.random()}"}


class Connections:
    """Keep-alive connections to one host, at most `size` open at once."""

    def __init__(self, base: str, size: int) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )
        self.slots = asyncio.Semaphore(size)

    async def request(self, method: str, path: str, body: bytes) -> int:
        async with self.slots:
            reader, writer = (
                self.idle.get_nowait()
                if not self.idle.empty()
                else await asyncio.open_connection(self.host, self.port)
            )
            try:
                head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
                if body:
                    head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                writer.write(head.encode() + b"\r\n" + body)
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                status = int(status_line.split()[1])
            except BaseException:
                writer.close()
                raise
            self.idle.put_nowait((reader, writer))
            return status


async def one(
    connections: Connections,
    rng: random.Random,
    due: float,
    args: argparse.Namespace,
    samples: list[Sample],
) -> None:
    kind, method, path, body = pick(rng, args.books, args.authors)
    status = 0
    payload = json.dumps(body).encode() if body else b""
    with contextlib.suppress(
        OSError, TimeoutError, ValueError, IndexError, asyncio.IncompleteReadError
    ):
        status = await asyncio.wait_for(connections.request(method, path, payload), TIMEOUT)
    samples.append(Sample(kind, due, time.time() - due, status))


async def run(args: argparse.Namespace) -> list[Sample]:
    rng = random.Random(args.seed)
    samples: list[Sample] = []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    connections = Connections(args.base, args.connections)
    interval = 1.0 / args.rate
    tasks: set[asyncio.Task[None]] = set()
    start = time.time()
    for n in range(args.max_requests):
        due = start + n * interval
        if stop.is_set() or due - start > args.seconds:
            break
        # Always yield, even when behind schedule: the requests and SIGTERM need the loop.
        await asyncio.sleep(max(0.0, due - time.time()))
        if stop.is_set():
            break
        task = asyncio.create_task(one(connections, rng, due, args, samples))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--max-requests", type=int, default=50_000)
    parser.add_argument("--books", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    samples = asyncio.run(run(args))
    args.out.write_text("".join(json.dumps(asdict(s)) + "\n" for s in samples))


if __name__ == "__main__":
    main()
