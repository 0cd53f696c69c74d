"""The scheduler inside ``lofte serve``: APScheduler 3 with its job store in Löfte's database.

One job, ``lofte-remind``, runs ``scheduler.reminders.run_once`` every
``REMIND_EVERY`` and once at start-up, so after downtime what is due goes out on the
first run (``coalesce``: missed runs collapse into one; the policy itself decides only
what is due *now*, never a burst of stale reminders).

The job store is ``SQLAlchemyJobStore`` on the same database (table ``apscheduler_jobs``),
so the schedule survives restarts. Two instances on one PostgreSQL may both run the job:
that is safe, because every decision is recorded once under a unique key and every
message is claimed by exactly one sender (``scheduler.reminders``).

The job is stored by reference (``scheduler.jobs:remind_job``) without arguments; what
it needs (engine, settings, clock, base URL) is registered in this process by
``start_scheduler``, so the pickled job never holds a connection or a secret.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from notifiers import notifier_from_settings
from scheduler.config import Settings
from scheduler.reminders import MailContext, RemindResult, run_once

__all__ = ["JOB_ID", "REMIND_EVERY", "mail_context", "remind_job", "start_scheduler"]

log = logging.getLogger(__name__)

JOB_ID = "lofte-remind"
REMIND_EVERY = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class _Runtime:
    engine: Engine
    settings: Settings
    clock: Callable[[], dt.datetime]
    base_url: str


_RUNTIME: dict[str, _Runtime] = {}


def mail_context(settings: Settings, base_url: str) -> MailContext:
    """Addresses, sender and key for the messages of this installation."""
    from scheduler import feeds  # noqa: PLC0415 - feeds imports the web renderer

    secret = settings.secret_key
    unit_feed_url = getattr(feeds, "unit_feed_url", None)
    if unit_feed_url is None:
        return MailContext(base_url=base_url.rstrip("/"), sender=settings.mail_from, secret=secret)
    return MailContext(
        base_url=base_url.rstrip("/"),
        sender=settings.mail_from,
        secret=secret,
        feed_urls=lambda session, unit_id: unit_feed_url(session, unit_id, secret=secret, base_url=base_url),
    )


def remind_job() -> RemindResult | None:
    """The scheduled run: decide and deliver what is due now."""
    runtime = _RUNTIME.get("default")
    if runtime is None:
        log.warning("remind job ran before start_scheduler registered its runtime; skipped")
        return None
    try:
        result = run_once(
            runtime.engine,
            now=runtime.clock(),
            notifier=notifier_from_settings(runtime.settings),
            context=mail_context(runtime.settings, runtime.base_url),
        )
    except Exception:  # the scheduler must keep running; the next run retries
        log.exception("the reminder run failed")
        return None
    delivery = result.delivery
    if result.decided or delivery.sent or delivery.failed or delivery.retried:
        log.info(
            "reminders: %d decided, %d sent, %d to retry, %d failed",
            len(result.decided), delivery.sent, delivery.retried, delivery.failed,
        )  # fmt: skip
    return result


def start_scheduler(
    engine: Engine,
    settings: Settings,
    *,
    base_url: str,
    clock: Callable[[], dt.datetime] | None = None,
    every: dt.timedelta = REMIND_EVERY,
) -> BackgroundScheduler:
    """Start the background scheduler with the reminder job (first run at once)."""
    _RUNTIME["default"] = _Runtime(
        engine=engine, settings=settings, clock=clock or (lambda: dt.datetime.now(dt.UTC)), base_url=base_url
    )
    store = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs")
    job_defaults: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    scheduler = BackgroundScheduler(jobstores={"default": store}, job_defaults=job_defaults, timezone=dt.UTC)
    scheduler.start()
    scheduler.add_job(
        remind_job,
        "interval",
        seconds=every.total_seconds(),
        id=JOB_ID,
        name="Påminnelser",
        replace_existing=True,
        next_run_time=dt.datetime.now(dt.UTC),
    )
    return scheduler
