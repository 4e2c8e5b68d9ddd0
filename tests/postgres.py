"""A throwaway PostgreSQL cluster for the tests: Debian's `initdb` and `pg_ctl` in a temporary
folder, listening on a free loopback port, with durability off (nothing in it must survive).

Postgres refuses to run as root; as root the cluster runs as the `postgres` user that Debian's
package creates, and only the test process (root) connects to it.
"""

import itertools
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql

INSTALL_HINT = (
    "`make test` installs it, or run `sudo apt-get install -y postgresql`. To run the other "
    "tests without it: pytest -m 'not slow and not postgres'."
)


DEBIAN_BINARIES = Path("/usr/lib/postgresql")  # N/bin for each installed version N


class PostgresMissingError(RuntimeError):
    """The server binaries (or, as root, a user to run them as) are not there."""


def server_binaries() -> Path:
    """The folder with `initdb` and `pg_ctl`: on PATH, else Debian's newest
    /usr/lib/postgresql/N/bin (the package does not put them on PATH)."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = sorted(
        DEBIAN_BINARIES.glob("*/bin/pg_ctl"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)],
    )
    if versions and (versions[-1].parent / "initdb").exists():
        return versions[-1].parent
    raise PostgresMissingError(
        "PostgreSQL's initdb and pg_ctl are missing: the app-database tests run against a "
        f"throwaway Postgres cluster. {INSTALL_HINT}"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """A running throwaway cluster; `database()` makes an empty database in it."""

    def __init__(self) -> None:
        binaries = server_binaries()
        self._initdb = str(binaries / "initdb")
        self._pg_ctl = str(binaries / "pg_ctl")
        self._user: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            try:
                self._user = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresMissingError(
                    "Postgres will not run as root and there is no `postgres` user to run it "
                    f"as (Debian's postgresql package creates one). {INSTALL_HINT}"
                ) from None
        self.root = Path(tempfile.mkdtemp(prefix="assistant-test-postgres-"))
        if self._user is not None:
            os.chown(self.root, self._user.pw_uid, self._user.pw_gid)
        self._data = self.root / "data"
        self._names = itertools.count(1)
        self.port = 0
        try:
            self._run(
                self._initdb, "-D", str(self._data), "--auth=trust", "--username=postgres",
                "--encoding=UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
            self._start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _run(self, *command: str) -> None:
        user = self._user
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.root,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
        )
        if done.returncode != 0:
            log = self.root / "server.log"
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
                f"{server_log}"
            )

    def _start(self) -> None:
        # A free port may be taken between the check and the server's bind: try a few.
        for attempt in range(3):
            self.port = _free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=300"
            )
            try:
                self._run(
                    self._pg_ctl, "start", "-D", str(self._data), "-w", "-t", "60",
                    "-l", str(self.root / "server.log"), "-o", options,
                )  # fmt: skip
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def url(self, database: str = "postgres") -> str:
        """The URL users write in DATABASE_URL (no driver named: the app picks psycopg)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database; returns its URL."""
        name = f"test_{next(self._names)}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres", autocommit=True
        ) as db:
            db.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(self._pg_ctl, "stop", "-D", str(self._data), "-m", "immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
