"""The real console in a pseudo-terminal: draws the overview, `?` shows help, and leaves no process behind
when the terminal goes away; `mlops-console serve` answers HTTP; `snapshot --format svg` writes an SVG."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pexpect
import pytest

from ui_fixtures import build_workspace

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _env(term: str) -> dict:
    env = dict(os.environ, PYTHONPATH=SRC, TERM=term, LANG="C.UTF-8", SSH_CONNECTION="10.0.0.1 5 10.0.0.2 22")
    env.pop("NO_COLOR", None)
    return env


def _expect(child, pattern: str, state: Path) -> None:
    """`child.expect(pattern)`; should the console end first, the failure holds what it printed last and its
    crash report (a CI run once saw it end before its first frame, saying nothing)."""
    try:
        child.expect(pattern)
    except pexpect.EOF:
        crash = state / "mlops-console" / "crash.log"
        report = crash.read_text(encoding="utf-8") if crash.exists() else "(no crash.log)"
        raise AssertionError(f"the console ended before {pattern!r}; it printed last: "
                             f"{(child.before or '')[-600:]!r}\n{report}") from None


def _gone(pid: int, rounds: int = 200, pause: float = 0.05) -> bool:
    for _ in range(rounds):  # poll: we assert that it ends, not how fast
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if finished:
            return True
        time.sleep(pause)
    return False


@pytest.mark.parametrize("term", ["xterm-256color", "tmux-256color", "vt100"])
def test_console_in_a_pty_and_closing_the_terminal(tmp_path, term):
    cfg = build_workspace(tmp_path)
    env = dict(_env(term), XDG_STATE_HOME=str(tmp_path / "state"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    child = pexpect.spawn(sys.executable, ["-m", "console", "--config", str(cfg)], env=env,
                          dimensions=(24, 80), encoding="utf-8", codec_errors="replace", timeout=60)
    try:
        _expect(child, "fraud-detector", tmp_path / "state")
        child.send("?")
        _expect(child, "Keys for", tmp_path / "state")
        _expect(child, "refresh", tmp_path / "state")
        pid = child.pid
    finally:
        child.close(force=False)  # closes the pty master: the terminal went away (SIGHUP / EOF)
    assert _gone(pid) or not child.isalive()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_sighup_quits(tmp_path):
    cfg = build_workspace(tmp_path)
    child = pexpect.spawn(sys.executable, ["-m", "console", "--config", str(cfg)], env=_env("screen-256color"),
                          dimensions=(40, 120), encoding="utf-8", codec_errors="replace", timeout=60)
    child.expect("fraud-detector")
    os.kill(child.pid, signal.SIGHUP)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None or child.signalstatus is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_http(tmp_path):
    cfg = build_workspace(tmp_path)
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "console", "--config", str(cfg), "serve", "--port", str(port)],
                            env=_env("xterm-256color"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        body = None
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    body = resp.read().decode("utf-8", "replace")
                    status = resp.status
                break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stderr.read().decode()) from None
                time.sleep(0.1)
        assert body is not None and status == 200 and "mlops-console" in body
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_snapshot_svg(tmp_path):
    cfg = build_workspace(tmp_path)
    out = tmp_path / "overview.svg"
    res = subprocess.run([sys.executable, "-m", "console", "--config", str(cfg), "snapshot", "--format", "svg",
                          "--output", str(out)], env=_env("xterm-256color"), capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "fraud-detector" in svg and "\x1b" not in svg


# ---------------------------------------------------------------------------------------- gone at once

QUIT_BOUND_S = 5.0  # generous: the figure itself (about 0.3 s) is measured by benchmarks/bench_quit.py


@pytest.fixture(scope="module")
def busy_demo(tmp_path_factory) -> Path:
    """The demo workspace: big enough that the monitoring worker is mid-query right after the first frame."""
    from demo_copy import demo_at

    return demo_at(tmp_path_factory.mktemp("pty-quit") / "ws")


def _quit_seconds(config: Path, how: str) -> float:
    """Starts the console on `config`, waits for its first frame, quits by `how` and returns how long the
    process took to end."""
    env = dict(_env("xterm-256color"), XDG_CACHE_HOME=str(config.parent / f"cache-{how}"))
    child = pexpect.spawn(sys.executable, ["-m", "console", "--config", str(config)], env=env,
                          dimensions=(40, 120), encoding="utf-8", codec_errors="replace", timeout=120)
    gone = False
    try:
        child.expect("delivery-eta")
        start = time.monotonic()
        if how == "q":
            child.send("q")
        elif how == "close":  # the terminal goes away: its master side closes
            os.close(child.child_fd)
            child.child_fd = -1
            child.closed = True
        else:
            os.kill(child.pid, getattr(signal, how))
        gone = _gone(child.pid, rounds=int(QUIT_BOUND_S / 0.01), pause=0.01)
        seconds = time.monotonic() - start
        assert gone, f"still running {seconds:.1f} s after {how}"
        return seconds
    finally:
        if not gone:
            os.kill(child.pid, signal.SIGKILL)
            _gone(child.pid)


@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP", "close"])
def test_a_busy_console_is_gone_at_once(busy_demo, how):
    seconds = _quit_seconds(busy_demo, how)
    print(f"quit by {how}: {seconds:.2f} s")
    assert seconds < QUIT_BOUND_S, seconds
