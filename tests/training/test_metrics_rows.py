"""The rows of ``metrics.jsonl`` a resumed run drops (genxd.training.run_outputs._drop_rows_after): those logged
after the step resumed from, whatever editor saved the file last."""

from __future__ import annotations

import json

from genxd.training.run_outputs import _drop_rows_after


def test_rows_after_the_resumed_step_go_from_a_file_with_a_byte_order_mark(tmp_path):
    """A ``metrics.jsonl`` re-saved by a Windows editor (a UTF-8 byte order mark, CRLF line ends): its first row,
    logged after the step resumed from, stayed (the mark made it no JSON), and the step appeared twice."""
    metrics = tmp_path / "metrics.jsonl"
    rows = [{"step": 3, "loss": 0.5}, {"step": 1, "loss": 0.7}, {"step": 4, "loss": 0.4}]
    metrics.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\r\n" for r in rows).encode())
    _drop_rows_after(metrics, 2)
    kept = [json.loads(line.lstrip("\ufeff")) for line in metrics.read_text(encoding="utf-8").splitlines()]
    assert kept == [{"step": 1, "loss": 0.7}]
