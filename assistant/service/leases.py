"""Claiming due rows (jobs, outbox) with a lease, and backing off on failure.

A row is "taken" by writing ``locked_until``; if the process dies the lease
runs out (or is cleared at start-up) and the row is picked up again. That is
what makes every piece of work resumable without a separate broker.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from .db import transaction
from .models import Job, Outbox


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Exponential back-off with ±10 % jitter: base, 2·base, 4·base … capped."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return max(0.0, delay * random.uniform(0.9, 1.1))


def claim_job(factory: sessionmaker[Session], kinds: Iterable[str], now: datetime,
              lease: timedelta) -> Job | None:
    kinds = list(kinds)
    with transaction(factory) as s:
        q = (select(Job).where(Job.status == "pending", Job.kind.in_(kinds), Job.run_after <= now,
                               or_(Job.locked_until.is_(None), Job.locked_until < now))
             .order_by(Job.run_after, Job.id).limit(1))
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        job = s.scalars(q).first()
        if job is None:
            return None
        job.locked_until = now + lease
        job.attempts += 1
        s.flush()
        return job


def claim_outbox(factory: sessionmaker[Session], now: datetime, lease: timedelta) -> Outbox | None:
    with transaction(factory) as s:
        q = (select(Outbox).where(Outbox.status == "pending", Outbox.next_attempt_at <= now,
                                  or_(Outbox.locked_until.is_(None), Outbox.locked_until < now))
             .order_by(Outbox.next_attempt_at, Outbox.id).limit(1))
        if s.get_bind().dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True)
        row = s.scalars(q).first()
        if row is None:
            return None
        row.locked_until = now + lease
        row.attempts += 1
        s.flush()
        return row


def release_all_leases(factory: sessionmaker[Session]) -> None:
    """At start-up: whatever the previous process held is ours to redo."""
    with transaction(factory) as s:
        s.execute(update(Job).where(Job.status == "pending", Job.locked_until.is_not(None))
                  .values(locked_until=None))
        s.execute(update(Outbox).where(Outbox.status == "pending", Outbox.locked_until.is_not(None))
                  .values(locked_until=None))


def next_due(factory: sessionmaker[Session], kinds: Iterable[str] | None) -> datetime | None:
    """When the earliest pending row becomes due (to sleep exactly that long)."""
    with factory() as s:
        if kinds is None:
            return s.scalar(select(Outbox.next_attempt_at).where(Outbox.status == "pending")
                            .order_by(Outbox.next_attempt_at).limit(1))
        return s.scalar(select(Job.run_after).where(Job.status == "pending", Job.kind.in_(list(kinds)))
                        .order_by(Job.run_after).limit(1))
