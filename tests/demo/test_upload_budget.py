"""The demo's upload budget (genxd.demo.upload_budget) against uploads that arrive together, in-process (a stand-in
ASGI app holds each upload open; no server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from genxd.demo.upload_budget import UploadBudget

MIB = 2**20


def _upload(size: int) -> dict:
    return {"type": "http", "method": "POST", "path": "/gradio_api/upload",
            "headers": [(b"content-length", str(size).encode())]}


def test_uploads_in_flight_together_count_against_the_budget(tmp_path: Path):
    """Each upload was checked against the files already on disk only: uploads sent together all passed (each
    under the budget on its own) and filled the disk past it, the budget times their number. The bytes of the
    uploads still being received now count too, until they are on disk; a finished upload's bytes are counted
    as its files."""
    folder = tmp_path / "gradio"
    folder.mkdir()
    received = asyncio.Event()
    answers: list[int] = []

    async def app(scope: dict, receive, send) -> None:  # Gradio's upload route: writes the files, then answers
        await received.wait()
        (folder / f"upload{len(list(folder.iterdir()))}").write_bytes(b"x" * MIB)
        answers.append(200)

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answers.append(message["status"])

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def main() -> None:
        budget = UploadBudget(app, folder, max_bytes=int(2.5 * MIB))
        together = [asyncio.create_task(budget(_upload(MIB), receive, send)) for _ in range(4)]
        await asyncio.sleep(0.5)  # the checks are done (each walks the folder in a thread)
        received.set()
        await asyncio.gather(*together)
        assert sorted(answers) == [200, 200, 413, 413]
        answers.clear()
        await budget(_upload(MIB), receive, send)  # 2 MiB on disk, none in flight: a third is over 2.5
        assert answers == [413]
        answers.clear()
        (folder / "upload0").unlink()  # Gradio's hourly clean-up
        await budget(_upload(MIB), receive, send)
        assert answers == [200]

    asyncio.run(main())
