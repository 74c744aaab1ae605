"""The demo's upload budget (genxd.demo.upload_budget) against uploads that arrive together, in-process (a stand-in
ASGI app holds each upload open; no server)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from genxd.demo.upload_budget import UploadBudget
from genxd.demo.workdir import folder_bytes

MIB = 2**20


def _upload(size: int) -> dict:
    return {"type": "http", "method": "POST", "path": "/gradio_api/upload",
            "headers": [(b"content-length", str(size).encode())]}


def test_uploads_in_flight_together_count_against_the_budget(tmp_path: Path):
    """Each upload was checked against the files already on disk only: uploads sent together all passed (each
    under the budget on its own) and filled the disk past it, the budget times their number. The bytes of the
    uploads still being received now count too, until they are on disk; a finished upload's bytes are counted
    as its files. Checks that arrive together share one walk of the folder."""
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
        assert budget.walks == 1  # the checks that came while the folder was walked waited for that walk
        answers.clear()
        await budget(_upload(MIB), receive, send)  # 2 MiB on disk, none in flight: a third is over 2.5
        assert answers == [413]
        answers.clear()
        (folder / "upload0").unlink()  # Gradio's hourly clean-up
        await budget(_upload(MIB), receive, send)
        assert answers == [200]

    asyncio.run(main())


def _multipart(names_and_sizes: list[tuple[str, int]]) -> tuple[dict, bytes]:
    """The headers and body of a form posting these files as a browser does (field ``files``, one part each)."""
    import requests

    files = [("files", (name, b"x" * size, "image/png")) for name, size in names_and_sizes]
    prepared = requests.Request("POST", "http://localhost/gradio_api/upload", files=files).prepare()
    return dict(prepared.headers), prepared.body


def test_an_upload_larger_than_the_page_sends_is_refused_at_once(tmp_path: Path):
    """One upload's declared size was reserved from the budget while it was received, however large: a client
    declaring gigabytes and sending them slowly held that much of the budget. An upload larger than the page's
    largest (its input images, each at the file size limit, with their longest names) is refused at once (413,
    one line naming the limit), its body unread; one as large as the page's largest, and one file over the size
    limit (Gradio words that refusal), are passed on."""
    passed: list[int] = []
    answers: list[tuple[int, str]] = []
    body_read: list[bool] = []

    async def app(scope: dict, receive, send) -> None:
        passed.append(int(dict(scope["headers"])[b"content-length"]))

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answers.append((message["status"], ""))
        elif message["type"] == "http.response.body" and answers:
            answers[-1] = (answers[-1][0], message.get("body", b"").decode())

    async def receive() -> dict:
        body_read.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    longest = "n" * 251 + ".png"  # a file name of 255 bytes, the most a file system keeps
    largest = _multipart([(longest, MIB)] * 2)[0]["Content-Length"]
    too_many = _multipart([("a.png", MIB)] * 3)[0]["Content-Length"]
    one_over = _multipart([("a.png", MIB + 1)])[0]["Content-Length"]

    async def main() -> None:
        budget = UploadBudget(app, tmp_path, max_bytes=100 * MIB, max_files=2, max_file_bytes=MIB)
        for size in (largest, too_many, one_over):
            await budget(_upload(int(size)), receive, send)

    asyncio.run(main())
    assert passed == [int(largest), int(one_over)]
    assert not body_read
    [(status, text)] = answers
    assert status == 413
    assert "at most 2 files of up to 1 MiB each" in text and "\n" not in text, text
    assert UploadBudget(app, tmp_path, max_bytes=100 * MIB).max_request_bytes is None  # no page: no cap


class _Gradio:
    """A stand-in for Gradio's upload route: each upload's declared bytes land in a folder of their own in
    ``folder`` (Gradio's ``<hash>/<name>``); ``statuses`` gets each answer's status, the budget's refusals too."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.statuses, self.count = folder, [], 0

    async def __call__(self, scope: dict, receive, send) -> None:
        self.count += 1
        upload = self.folder / f"{self.count:040x}"
        upload.mkdir()
        (upload / "upload.png").write_bytes(b"x" * int(dict(scope["headers"])[b"content-length"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})

    async def send(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            self.statuses.append(message["status"])

    @staticmethod
    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    def upload(self, budget: UploadBudget, size: int) -> int:
        """The status of one upload of ``size`` bytes through ``budget``."""
        asyncio.run(budget(_upload(size), self.receive, self.send))
        return self.statuses[-1]

    def remove(self, n: int) -> None:
        """Gradio's clean-up: the ``n`` oldest uploads' folders go."""
        for upload in sorted(self.folder.iterdir())[:n]:
            (upload / "upload.png").unlink()
            upload.rmdir()


def test_uploads_far_below_the_budget_walk_the_folder_once_per_refresh(tmp_path: Path):
    """Every check walked the folder (a stat of each file; about 0.3 s at 10,000 files). Far below the budget the
    bytes on disk are counted from the last walk plus the uploads answered since, and walked again once that walk
    is ``refresh_s`` old: files the clean-up removed meanwhile are counted until then, not for ever."""
    gradio, now = _Gradio(tmp_path), [0.0]
    budget = UploadBudget(gradio, tmp_path, max_bytes=64 * MIB, refresh_s=10, clock=lambda: now[0])
    assert [gradio.upload(budget, MIB) for _ in range(5)] == [200] * 5
    assert budget.walks == 1 and budget.on_disk() == folder_bytes(tmp_path) == 5 * MIB
    gradio.remove(5)
    now[0] = 9.9
    assert gradio.upload(budget, MIB) == 200
    assert budget.walks == 1 and budget.on_disk() == 6 * MIB  # the clean-up not seen yet
    now[0] = 10.0
    assert gradio.upload(budget, MIB) == 200
    assert budget.walks == 2 and budget.on_disk() == folder_bytes(tmp_path) == 2 * MIB


def test_near_the_budget_each_upload_is_checked_against_a_fresh_walk(tmp_path: Path):
    """Within an eighth of the budget of the count, each check walks the folder: files that came otherwise (the
    copies of outputs Gradio serves) are not missed, and files the clean-up removed do not refuse an upload."""
    gradio = _Gradio(tmp_path)
    budget = UploadBudget(gradio, tmp_path, max_bytes=8 * MIB, refresh_s=3600, clock=lambda: 0.0)
    assert [gradio.upload(budget, MIB) for _ in range(7)] == [200] * 7  # the count leaves 1 MiB free: no walk
    assert budget.walks == 1
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "result.mp4").write_bytes(b"x" * (MIB // 2))  # 7.5 MiB on disk, 7 MiB counted
    assert gradio.upload(budget, MIB) == 413
    assert budget.walks == 2 and budget.on_disk() == int(7.5 * MIB)
    gradio.remove(3)  # 4.5 MiB on disk, 7.5 MiB counted: over the budget with 1 MiB more
    assert gradio.upload(budget, MIB) == 200
    assert budget.walks == 3 and budget.on_disk() == folder_bytes(tmp_path) == int(5.5 * MIB)
