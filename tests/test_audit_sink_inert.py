"""The copy of each audit record shipped to `[audit] sink` (syslog, HTTP) is as inert as the trail's own line: a
`--reason`, a model name or a hook's answer carrying a bidi override, a C1 control or a line separator reached a
syslog viewer raw (the trail file escaped them; the shipped copy was the unescaped canonical JSON)."""

from __future__ import annotations

import json
import socket

from conftest import seed_model, unique
from test_cli_actions import run
from test_security import records, unsafe_in, write_cfg

REASON = "ok\u202edesrever \x9b[2J\u2028forged line\u200b"


def test_the_shipped_copy_escapes_what_the_trail_escapes(sqlite_uri, tmp_path, httpserver):
    name = unique("sink")
    seed_model(sqlite_uri, name, 2, aliases={"champion": "1"})
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", 0))
        udp.settimeout(10)
        cfg = write_cfg(tmp_path / "syslog", sqlite_uri,
                        audit_extra=f'sink = "syslog://127.0.0.1:{udp.getsockname()[1]}"\n')
        assert run(["--config", cfg, "--read-only", "rollback", name, "--reason", REASON, "--yes"]) == 1
        datagram = udp.recv(65536)
    text = datagram.decode("utf-8")
    assert unsafe_in(text) == [] and "\u2028" not in text and "\u200b" not in text, text
    shipped = json.loads(text.split("]: ", 1)[1])
    assert shipped == records(cfg)[-1] and shipped["reason"] == REASON  # the same record, escaped in transit

    httpserver.expect_request("/audit", method="POST").respond_with_data("", status=204)
    cfg = write_cfg(tmp_path / "http", sqlite_uri, audit_extra=f'sink = "{httpserver.url_for("/audit")}"\n')
    assert run(["--config", cfg, "--read-only", "rollback", name, "--reason", REASON, "--yes"]) == 1
    (body,) = [req.get_data().decode("utf-8") for req, _ in httpserver.log]
    assert unsafe_in(body) == [] and "\u2028" not in body, body
    assert json.loads(body) == records(cfg)[-1]
