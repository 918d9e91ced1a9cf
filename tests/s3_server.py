"""A real S3-compatible server for the session: moto's server mode in its own process on 127.0.0.1.

`s3_server` accepts any key (moto's default). `s3_auth_server` checks keys (moto's IAM checks after
the first calls), so a wrong access key or secret is refused by the server as real S3 would refuse it;
it creates one IAM user whose key the tests use. Two servers because moto's signature check in that
mode miscomputes keys holding `=` (every Hive path), which real S3 signs fine.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# create_user, create_access_key, put_user_policy: then every request is checked.
_SETUP_CALLS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class S3Server:
    endpoint: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    log: Path | None = None  # the server's request log (one line per request: what a read cost, counted)

    def requests(self, since: int = 0) -> list[str]:
        """The request lines the server logged after the first `since` (`len(requests())` marks a point)."""
        lines = self.log.read_text(errors="replace").splitlines() if self.log else []
        return [line for line in lines if '"' in line and " HTTP/" in line][since:]

    @property
    def storage(self) -> dict:
        return {"endpoint_url": self.endpoint, "region": "us-east-1", "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key}

    @property
    def toml(self) -> str:
        """The `[storage.s3]` table of a console configuration that reaches this server."""
        return "[storage.s3]\n" + "".join(f'{k} = "{v}"\n' for k, v in self.storage.items())

    def delta_writer_options(self) -> dict[str, str]:
        """delta-rs options for a test's own writes: the console's identity, but object_store's retries and a long
        timeout (the console's readers make one attempt; a loaded CI machine's moto may drop a write)."""
        from console.sources import s3

        options = s3.object_store_options(s3.settings(self.storage))
        return {**options, "max_retries": "3", "timeout": "60s", "AWS_S3_ALLOW_UNSAFE_RENAME": "true"}

    def client(self):
        import botocore.session
        from botocore.config import Config

        return botocore.session.get_session().create_client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key, config=Config(s3={"addressing_style": "path"}))

    def upload_tree(self, bucket: str, local: Path, prefix: str) -> int:
        """Put every file under `local` at `prefix/<relative path>`; returns how many."""
        client, n = self.client(), 0
        for path in sorted(local.rglob("*")):
            if path.is_file():
                key = f"{prefix.rstrip('/')}/{path.relative_to(local).as_posix()}"
                client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
                n += 1
        return n


def empty_location(where: str, server: S3Server, tmp_path: Path, stem: str, folder: str, pattern: str = ""):
    """(path, S3Storage or None, bucket or None) of a log location holding no file yet: a new bucket's prefix (`where` "s3") or an
    empty local folder ("local"), `pattern` appended to either (a glob such as "**/*.jsonl")."""
    from console.config import S3Storage

    tail = f"/{pattern}" if pattern else ""
    if where == "s3":
        bucket = f"{stem}-{tmp_path.name[-8:].lower().replace('_', '-')}"
        server.client().create_bucket(Bucket=bucket)
        return f"s3://{bucket}/{folder}/{pattern}", S3Storage(**server.storage), bucket
    (tmp_path / folder).mkdir()
    return str(tmp_path / folder) + tail, None, None


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    yield from _moto(tmp_path_factory, auth=False)


@pytest.fixture(scope="session")
def s3_auth_server(tmp_path_factory):
    yield from _moto(tmp_path_factory, auth=True)


def _moto(tmp_path_factory, auth: bool):
    root = tmp_path_factory.mktemp("moto")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="setup", AWS_SECRET_ACCESS_KEY="setup", AWS_DEFAULT_REGION="us-east-1")
    if auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(_SETUP_CALLS)
    log = open(root / "moto.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto server did not start: {(root / 'moto.log').read_text()[-2000:]}")
                time.sleep(0.1)
        if not auth:
            yield S3Server(endpoint, "AKIAMOTOOPENSERVER01", "moto-accepts-any-secret", root / "moto.log")
            return
        import botocore.session

        iam = botocore.session.get_session().create_client(
            "iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup",
            aws_secret_access_key="setup")
        iam.create_user(UserName="console")
        key = iam.create_access_key(UserName="console")["AccessKey"]
        iam.put_user_policy(UserName="console", PolicyName="all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"], root / "moto.log")
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if proc.poll() is not None:
                break
            os.killpg(proc.pid, sig)
            try:
                proc.wait(wait)
            except subprocess.TimeoutExpired:
                continue
        log.close()


class Switch:
    """A TCP relay in front of a server, for failures that come and go: `forward` relays to it, `silent`
    accepts connections and never answers (a hung server or a black-holed route), `closed` refuses them (a
    server down). `endpoint` is the relay's own; close() ends it."""

    def __init__(self, upstream: str):
        import threading

        host, port = upstream.rsplit("//", 1)[1].split(":")
        self.upstream = (host, int(port))
        self.mode = "forward"
        self._held: list[socket.socket] = []
        self._relayed: list[socket.socket] = []
        self._stop = threading.Event()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self._server.settimeout(0.1)
        self.endpoint = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        import threading

        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                continue
            if self.mode == "closed":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                conn.close()  # a reset, as a port nothing listens on gives
            elif self.mode == "silent":
                self._held.append(conn)
            else:
                threading.Thread(target=self._relay, args=(conn,), daemon=True).start()

    def _relay(self, conn: socket.socket) -> None:
        import selectors

        try:
            up = socket.create_connection(self.upstream, 5)
        except OSError:
            conn.close()
            return
        self._relayed += [conn, up]
        sel = selectors.DefaultSelector()
        sel.register(conn, selectors.EVENT_READ, up)
        sel.register(up, selectors.EVENT_READ, conn)
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
        except OSError:
            return
        finally:
            sel.close()
            conn.close()
            up.close()

    def set(self, mode: str) -> None:
        """Switch mode; connections relayed so far are cut (a client's kept-alive one must meet the new mode)."""
        self.mode = mode
        for sock in self._relayed:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._relayed.clear()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._server.close()
