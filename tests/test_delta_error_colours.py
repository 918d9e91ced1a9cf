"""A native reader's error (delta-rs, object_store) colours its own chain of causes (`ESC[31m↳ESC[0m`): the console
spelled those codes out, so an operator read `Generic S3 error \\x1b[31m↳\\x1b[0m Error performing GET ...` in
every note, on stderr and in the TUI. The reader's colour codes are dropped from the message (they are its
decoration, not data); anything else stays spelled out. Found by the door probe, an S3 endpoint answering 500."""

from __future__ import annotations

from werkzeug import Response

from console.cli import main
from test_security import unsafe_in


def test_a_delta_tables_s3_error_reads_without_colour_codes(tmp_path, capsys, httpserver):
    httpserver.expect_request("").respond_with_handler(lambda request: Response("boom \x1b[2J", status=500))
    config = tmp_path / "mlops-console.toml"
    config.write_text(f'[store]\npath = "store"\n[[logs]]\nkind = "predictions"\nformat = "delta"\n'
                      f'path = "s3://bucket/delta/"\n[storage.s3]\nendpoint_url = "{httpserver.url_for("/")}"\n'
                      'region = "us-east-1"\naccess_key_id = "AKIAEXAMPLEEXAMPLE1"\n'
                      'secret_access_key = "example-secret-key"\n', encoding="utf-8")
    assert main(["--config", str(config), "snapshot"]) == 0
    err = capsys.readouterr().err
    (note,) = [line for line in err.splitlines() if "s3://bucket/delta/" in line]
    assert "500" in note and unsafe_in(note) == [], note
    assert "\\x1b[31m" not in note and "\\x1b[0m" not in note, note  # the reader's colours, not spelled out
