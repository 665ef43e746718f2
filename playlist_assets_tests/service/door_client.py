"""Talks to the service profile's door as a browser or a script would: HTTPS, Basic logins, a
chosen source address; and reads which TCP ports are listening, from /proc, with their owners."""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass(frozen=True)
class Door:
    port: int
    cafile: Path  # the profile's self-signed certificate: TLS is verified, not skipped

    def request(
        self,
        path: str,
        login: tuple[str, str] | None = None,
        *,
        method: str = "GET",
        body: dict | None = None,
        source: str = "127.0.0.1",
        timeout: float = 120,
    ) -> Reply:
        context = ssl.create_default_context(cafile=str(self.cafile))
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=context, timeout=timeout, source_address=(source, 0)
        )
        headers = {}
        if login:
            token = base64.b64encode(f"{login[0]}:{login[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            conn.request(method, path, body=payload, headers=headers)
            reply = conn.getresponse()
            data = reply.read()
        finally:
            conn.close()
        return Reply(
            reply.status,
            {k.lower(): v for k, v in reply.getheaders()},
            data,
            time.monotonic() - started,
        )

    def graphql(self, prefix: str, query: str, login: tuple[str, str]) -> Reply:
        return self.request(f"{prefix}/graphql", login, method="POST", body={"query": query})


@dataclass(frozen=True)
class Listener:
    address: str  # e.g. 0.0.0.0, 127.0.0.1, ::, ::1
    port: int
    pids: frozenset[int]


def _address(hex_addr: str) -> str:
    import ipaddress

    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    # /proc/net/tcp6 prints four little-endian 32-bit words.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return str(ipaddress.IPv6Address(words))


def listening_tcp() -> list[Listener]:
    """Every TCP socket in LISTEN state on this machine, with the pids holding it."""
    owners: dict[str, set[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    owners.setdefault(target[8:-1], set()).add(int(proc.name))
        except OSError:
            continue
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            hex_addr, hex_port = fields[1].split(":")
            found.append(
                Listener(
                    _address(hex_addr), int(hex_port, 16), frozenset(owners.get(fields[9], ()))
                )
            )
    return found
