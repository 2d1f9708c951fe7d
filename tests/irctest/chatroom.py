"""irctest controller for chatroom's IRC listener.

irctest (https://github.com/progval/irctest) is not vendored: run it through
scripts/irctest.sh, which puts this directory on PYTHONPATH and passes
``--controller chatroom``. Modeled on irctest/controllers/ngircd.py: each test
gets a fresh server with its own TOML configuration in a temporary directory.

The binary is $CHATROOM_BIN if set, else ``chatroom`` on PATH.
"""

import atexit
import functools
import itertools
import os
from pathlib import Path
import shutil
import socket
import subprocess
from typing import Dict, Optional, Type

from irctest.basecontrollers import BaseServerController, DirectoryBasedController
from irctest.runner import NotImplementedByController
from irctest.specifications import Capabilities, OptionalBehaviors

# The server name is the one irctest's tests expect in prefixes (every
# controller configures it). Flood limits are raised because irctest sends
# bursts of lines faster than a person types, as irctest's Ergo controller
# turns fakelag off. irctest's passwords are short ("sesame", "pink"), so the
# shortest password accepted is one character. Every other limit keeps
# chatroom's default so that the tally describes a real deployment.
#
# The native listener is on a port the controller picks (as the IRC one):
# registerUser creates accounts through it, as irctest's other controllers do
# through their services.
TEMPLATE_CONFIG = """\
[server]
name = "My.Little.Server"
listen = {native_listen}

[irc]
listen = {irc_listen}
network = "irctest"
motd = "chatroom under irctest"
password = {password}

# No web client and no admin listener (whose default is a fixed port):
# servers may overlap, and never share a fixed port.
[http]
listen = ""

[admin]
listen = ""

[accounts]
min_password_len = 1

[limits]
flood_burst = 100000
flood_rate_per_sec = 100000.0

[history]
db = {history_db}

[files]
dir = {files_dir}

[log]
level = "warn"
dir = {log_dir}

# irctest's operator (OPER operuser operpassword, as in its other
# controllers).
[operators.{oper_name}]
password = {oper_hash}
"""

# The operator credentials irctest's tests use.
OPER_NAME = "operuser"
OPER_PASSWORD = "operpassword"


def toml_string(value: str) -> str:
    """A TOML basic string holding ``value``."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def chatroom_binary() -> str:
    """The binary under test: $CHATROOM_BIN, else ``chatroom`` on PATH."""
    binary = os.environ.get("CHATROOM_BIN") or shutil.which("chatroom")
    if not binary:
        raise RuntimeError("set CHATROOM_BIN or put chatroom on PATH")
    return binary


@functools.lru_cache(maxsize=None)
def password_hash(binary: str, password: str) -> str:
    """``password`` hashed by ``chatroom hash-password`` (argon2id, as the
    configuration wants it); once per process, as hashing is slow on
    purpose."""
    done = subprocess.run(
        [binary, "hash-password"],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=server_environment(),
        check=True,
    )
    return done.stdout.strip()


def server_environment() -> Dict[str, str]:
    """The environment without CHATROOM_* variables, so that only the
    generated file configures the server: chatroom reads every CHATROOM_*
    variable as configuration, and refuses to start on an unknown one
    (CHATROOM_BIN included)."""
    return {
        key: value
        for (key, value) in os.environ.items()
        if not key.startswith("CHATROOM_")
    }


# Servers this process started, with their directories. irctest skips
# tearDown (and so the kill and the clean-up) when a test's setUp fails after
# the server started; these are ended and removed when pytest exits instead
# of outliving the run.
_started: Dict[subprocess.Popen, Path] = {}

# registerUser's temporary nicknames, distinct within a run.
_registrar_numbers = itertools.count(1)

# Seconds registerUser waits for a reply: REGISTER hashes with argon2id,
# which takes a while on a loaded machine.
REPLY_TIMEOUT = 30.0


@atexit.register
def _kill_leftovers() -> None:
    for proc, directory in _started.items():
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)


class ChatroomController(BaseServerController, DirectoryBasedController):
    software_name = "chatroom"
    _port_wait_interval = 0.02
    supported_sasl_mechanisms = {"PLAIN"}
    supports_sts = False

    # What issue 13 asks of the listener, and what accounts added to it
    # (account-notify, account-tag, extended-join). Declared so that a NAK
    # fails the test instead of skipping it: the tally then counts what is
    # missing.
    capabilities = frozenset(
        (
            Capabilities.ACCOUNT_NOTIFY,
            Capabilities.ACCOUNT_TAG,
            Capabilities.AWAY_NOTIFY,
            Capabilities.BATCH,
            Capabilities.ECHO_MESSAGE,
            Capabilities.EXTENDED_JOIN,
            Capabilities.LABELED_RESPONSE,
            Capabilities.MESSAGE_TAGS,
            Capabilities.MULTI_PREFIX,
            Capabilities.SERVER_TIME,
        )
    )
    # Issue 13: "JOIN (with keys, several channels ...)", "PRIVMSG and NOTICE
    # (... several targets)".
    optional_behaviors = frozenset(
        (
            OptionalBehaviors.MULTI_JOIN,
            OptionalBehaviors.MULTI_PRIVMSG,
        )
    )

    def create_config(self) -> None:
        super().create_config()
        with self.open_file("chatroom.toml"):
            pass

    def run(
        self,
        hostname: str,
        port: int,
        *,
        password: Optional[str],
        ssl: bool,
        run_services: bool,
        faketime: Optional[str],
        websocket_hostname: Optional[str] = None,
        websocket_port: Optional[int] = None,
    ) -> None:
        if ssl:
            raise NotImplementedByController("TLS")
        if websocket_hostname is not None or websocket_port is not None:
            raise NotImplementedByController("Websocket")
        # run_services: chatroom has no services, but its own accounts do
        # what irctest asks of them (registerUser, SASL); tests that talk to
        # NickServ fail, and the tally counts them.
        assert self.proc is None
        self.port = port
        self.hostname = hostname
        (self.native_hostname, self.native_port) = self.get_hostname_and_port()
        self.create_config()
        assert self.directory
        directory: Path = self.directory

        with self.open_file("chatroom.toml", "w") as fd:
            fd.write(
                TEMPLATE_CONFIG.format(
                    native_listen=toml_string(
                        f"{self.native_hostname}:{self.native_port}"
                    ),
                    irc_listen=toml_string(f"{hostname}:{port}"),
                    password=toml_string(password or ""),
                    history_db=toml_string(str(directory / "history.db")),
                    files_dir=toml_string(str(directory / "files")),
                    log_dir=toml_string(str(directory / "logs")),
                    oper_name=OPER_NAME,
                    oper_hash=toml_string(
                        password_hash(chatroom_binary(), OPER_PASSWORD)
                    ),
                )
            )

        self.proc = self.execute(
            [chatroom_binary(), "--config", directory / "chatroom.toml"],
            cwd=directory,
            env=server_environment(),
        )
        _started[self.proc] = directory

    def wait_for_services(self) -> None:
        # Accounts are the server's own: nothing else to wait for.
        pass

    def registerUser(
        self,
        case: object,
        username: str,
        password: Optional[str] = None,
    ) -> None:
        """Creates the account ``username`` with native REGISTER, on a
        connection of its own that then quits (as irctest's other controllers
        do through NickServ)."""
        assert password is not None, "chatroom accounts need a password"
        # Tests may register before any client connects, so before the
        # server listens.
        self.wait_for_port()
        nick = f"registrar{next(_registrar_numbers)}"
        with socket.create_connection(
            (self.native_hostname, self.native_port), timeout=REPLY_TIMEOUT
        ) as conn:
            lines = conn.makefile("r", encoding="utf-8", newline="\n")
            conn.sendall(f"NICK {nick}\r\n".encode())
            conn.sendall(f"REGISTER {username} {password}\r\n".encode())
            for line in lines:
                line = line.rstrip("\r\n")
                if line.startswith("OK REGISTER"):
                    break
                if line.startswith("ERR "):
                    raise RuntimeError(f"cannot register {username!r}: {line}")
            else:
                raise RuntimeError(f"cannot register {username!r}: connection closed")
            conn.sendall(b"QUIT\r\n")
            for line in lines:
                if line.startswith("OK QUIT"):
                    break


def get_irctest_controller_class() -> Type[ChatroomController]:
    return ChatroomController
