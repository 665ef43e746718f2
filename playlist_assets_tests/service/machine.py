"""What the service test reads of this machine: free ports, the profile's processes, their
CPU priority, loopback addresses (Linux ``/proc``)."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from pathlib import Path

from playlist_assets import settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def processes_using(data_home: Path) -> list[int]:
    """Pids of every process whose environment points at this data folder (runs included)."""
    needle = f"{settings.DATA_HOME_ENV}={data_home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def niceness(pid: int) -> tuple[int, int | None]:
    """The process's nice, and its session's scheduling group's (None: no autogroup here)."""
    own = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])
    try:
        group = int(Path(f"/proc/{pid}/autogroup").read_text().split()[-1])
    except OSError:
        group = None
    return own, group


def session(sid: int) -> dict[int, int]:
    """Every process of session ``sid`` (the code server's: it and the runs it starts) and its
    nice."""
    found = {}
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError):
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            if proc.name.isdigit() and int(fields[3]) == sid:
                found[int(proc.name)] = int(fields[16])
    return found


def loopback(address: str) -> bool:
    """127.0.0.0/8, ::1, or IPv4 loopback seen through an IPv6 socket (::ffff:127.0.0.1: gRPC)."""
    ip = ipaddress.ip_address(address)
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback
