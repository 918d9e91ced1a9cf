"""An unhandled error in the real console is said: the terminal is put back, one line names the error and the
file holding its traceback (0600, no local values), and the exit code is the CLI's for an unexpected failure.
Before, the process left as the app unmounted, before Textual printed its report: the console vanished
without a word (a CI run saw only the terminal being restored)."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

import pexpect

from console import exit_codes
from ui_fixtures import build_workspace

SRC = str(Path(__file__).resolve().parents[1] / "src")

# the stimulus: a console whose Overview fails as it mounts (a test may not replace the system under test, but
# the part under test here is what happens after any unhandled error, and none is known to happen for real)
BOOM = textwrap.dedent("""
    import sys
    from pathlib import Path

    import console.ui.app as app_module

    class Failing(app_module.ConsoleApp):
        CSS_PATH = str(Path(app_module.__file__).with_name("app.tcss"))

        def on_mount(self):
            secret_value = "hunter2-local"  # a local: Textual's own report would print it
            raise RuntimeError("the overview fell over \\x1b[2J here")

    app_module.ConsoleApp = Failing
    from console.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_an_unhandled_error_is_said_in_one_line_with_its_traceback_in_a_private_file(tmp_path):
    cfg = build_workspace(tmp_path)
    state = tmp_path / "state"
    env = dict(os.environ, PYTHONPATH=SRC, TERM="xterm-256color", LANG="C.UTF-8", XDG_STATE_HOME=str(state),
               XDG_CACHE_HOME=str(tmp_path / "cache"))
    script = tmp_path / "failing_console.py"  # a file: Textual reads an App class's source
    script.write_text(BOOM, encoding="utf-8")
    child = pexpect.spawn(sys.executable, [str(script), "--config", str(cfg)], env=env, dimensions=(24, 80),
                          encoding="utf-8", codec_errors="replace", timeout=60)
    child.expect(pexpect.EOF)
    child.close()
    out = child.before
    assert child.exitstatus == exit_codes.REMOTE, out
    tail = out.rsplit("\x1b[0m", 1)[-1]  # what follows the terminal's restore
    log = state / "mlops-console" / "crash.log"
    assert f"mlops-console: stopped on an internal error: RuntimeError: the overview fell over \\x1b[2J here; " \
           f"the details are in {log}" in tail, out
    assert "\x1b[2J" not in tail and "hunter2" not in out and "Traceback" not in out
    text = log.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "RuntimeError: the overview fell over" in text
    assert "hunter2" not in text  # the traceback has no local values
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
