"""Locks that live in the database and expire, so they work across processes and survive a crash.

The service and an administrator's command may run at the same moment: two deliveries of
the outbox, or two scans of one source, must not overlap. A lease is a row naming its
holder and when it lapses; a holder that dies simply lets it lapse.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crawler.storage import Lease, utcnow


def new_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(sessions: sessionmaker[Session], name: str, holder: str, ttl: timedelta) -> bool:
    """Take (or renew) the lease; False when someone else holds a live one."""
    now = utcnow()
    with sessions.begin() as session:
        taken = session.execute(update(Lease).where(
            Lease.name == name, (Lease.holder == holder) | (Lease.expires_at < now),
        ).values(holder=holder, expires_at=now + ttl))
        if taken.rowcount:  # type: ignore[attr-defined]
            return True
    try:
        with sessions.begin() as session:
            session.add(Lease(name=name, holder=holder, expires_at=now + ttl))
        return True
    except IntegrityError:  # a live lease exists, held by someone else
        return False


def holder_alive(holder: str) -> bool | None:
    """Whether the process named by a holder id still runs; None when it is on another machine."""
    host, _, rest = holder.partition(":")
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(rest.split(":")[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def clear_dead(sessions: sessionmaker[Session]) -> list[str]:
    """Drop leases held by processes of this machine that have died (a crash, kill -9), so a restart need not wait."""
    with sessions.begin() as session:
        dead = [lease.name for lease in session.scalars(select(Lease)) if holder_alive(lease.holder) is False]
        if dead:
            session.execute(delete(Lease).where(Lease.name.in_(dead)))
    return dead


def release(sessions: sessionmaker[Session], name: str, holder: str) -> None:
    with sessions.begin() as session:
        session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


@contextmanager
def lease(sessions: sessionmaker[Session], name: str, ttl: timedelta) -> Iterator[str | None]:
    """``with lease(...) as holder:`` gives the holder id, or None when it is busy elsewhere."""
    holder = new_holder()
    if not acquire(sessions, name, holder, ttl):
        yield None
        return
    try:
        yield holder
    finally:
        release(sessions, name, holder)
