"""Load check for ``POST /line/webhook``: a steady rate of signed events, time to 200, stored once.

    python -m evals.load_webhook                      # 50 req/s for 60 s against a service it starts
    python -m evals.load_webhook --seconds 10         # shorter
    python -m evals.load_webhook --url http://127.0.0.1:8000 --database-url sqlite:////path/service.db

Without ``--url`` it starts the LINE emulator and ``python -m assistant.service serve``
as child processes on loopback (SQLite in a temporary folder unless ``--database-url`` is given; the
worker drafts with the index under ``--wpa-home``/``$WPA_HOME`` if there is one, so
retrieval competes for the CPU as it would in production). Requests are sent open-loop
— each at its scheduled time, whether or not earlier ones finished — so a slow
server shows up as latency, not as a lower rate. A share of the requests are LINE
redeliveries of events already sent; afterwards the database must hold every
distinct ``webhookEventId`` exactly once. Only loopback addresses are allowed.

Exit status: 0 when every request got 200, every event is stored once and p99 < 1 s.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

REPO = Path(__file__).resolve().parent.parent
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Report:
    url: str
    rate: float
    seconds: float
    requests: int = 0
    redeliveries: int = 0
    distinct_events: int = 0
    ok: int = 0
    non_200: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    achieved_rate: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    stored_events: int | None = None
    missing_events: int | None = None
    duplicate_rows: int | None = None
    questions: int | None = None
    drafted: int | None = None
    passed: bool = False


def _percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[k]


def build_requests(total: int, secret: str, redelivery_share: float, seed: int = 7) -> list[tuple[str, bytes, dict]]:
    """(webhookEventId, body, headers) for each request, signed; bodies checked against webhook.yml."""
    from assistant.lineemu.contracts import validate_webhook_body
    from assistant.lineemu import events as ev

    rng = random.Random(seed)
    questions = ["請問排放許可證展延要在多久前申請？", "放流水檢測報告要多久申報一次？", "廢水處理設施變更需要重新申請嗎？",
                 "簡易排放許可文件適用哪些事業？", "許可證遺失要怎麼補發？"]
    sent: list[dict] = []
    out: list[tuple[str, bytes, dict]] = []
    for i in range(total):
        if sent and rng.random() < redelivery_share:
            event = dict(rng.choice(sent), deliveryContext={"isRedelivery": True})
        else:
            user = ev.new_user_id()
            roll = rng.random()
            if roll < 0.85:
                event = ev.text_message_event(f"{rng.choice(questions)}（#{i}）", user_id=user)
            elif roll < 0.95:
                event = ev.follow_event(user_id=user)
            else:
                event = ev.sticker_message_event(user_id=user)
            sent.append(event)
        body = ev.webhook_body([event])
        validate_webhook_body(body)
        raw = ev.encode_body(body)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0",
                   "X-Line-Signature": ev.sign(raw, secret)}
        out.append((event["webhookEventId"], raw, headers))
    return out


async def fire(url: str, requests: list[tuple[str, bytes, dict]], rate: float) -> tuple[list[float], list[str]]:
    """Send each request at its slot (open loop); returns latencies (s) of 200s and other outcomes."""
    latencies: list[float] = []
    outcomes: list[str] = []
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=2.0)
    async with httpx.AsyncClient(timeout=10, limits=limits) as client:
        start = time.perf_counter()

        async def one(i: int, body: bytes, headers: dict) -> None:
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            t0 = time.perf_counter()
            try:
                resp = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                outcomes.append(type(exc).__name__)
                return
            if resp.status_code == 200:
                latencies.append(time.perf_counter() - t0)
                outcomes.append("200")
            else:
                outcomes.append(str(resp.status_code))

        await asyncio.gather(*(one(i, body, headers) for i, (_, body, headers) in enumerate(requests)))
    return latencies, outcomes


def verify_storage(database_url: str, event_ids: set[str]) -> tuple[int, int, int, int, int]:
    """(rows for our events, missing ids, duplicate rows, questions created, questions drafted)."""
    from sqlalchemy import func, select

    from assistant.service.db import make_engine, make_sessionmaker
    from assistant.service.models import LineEvent, Question

    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as s:
            found: list[str] = []
            ids = sorted(event_ids)
            for i in range(0, len(ids), 500):
                found += list(s.scalars(select(LineEvent.webhook_event_id)
                                        .where(LineEvent.webhook_event_id.in_(ids[i:i + 500]))))
            questions = s.scalar(select(func.count()).select_from(Question))
            drafted = s.scalar(select(func.count()).select_from(Question).where(Question.current_draft_id.is_not(None)))
    finally:
        engine.dispose()
    return len(found), len(event_ids - set(found)), len(found) - len(set(found)), questions, drafted


def _check_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK and not host.startswith("127."):
        raise SystemExit(f"refusing to load {host}: only loopback addresses are allowed")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawn(stack: ExitStack, argv: list[str], env: dict, log_path: Path, health: str) -> None:
    """Start a child process, stop it when the stack closes, wait until ``health`` answers."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    stack.callback(stop)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{argv[2]} exited during start-up:\n" + log_path.read_text()[-2000:])
        try:
            httpx.get(health, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{argv[2]} did not start")


def _start_service(stack: ExitStack, args, secret: str) -> tuple[str, str]:
    """Emulator and service as child processes (so neither competes with the load
    generator for this process's GIL); returns (service base url, database url)."""
    if args.keep:
        work = Path(tempfile.mkdtemp(prefix="wpa-load-"))
        print(f"keeping logs and database in {work}", file=sys.stderr)
    else:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="wpa-load-")))
    home = Path(args.wpa_home or os.environ.get("WPA_HOME") or work / "home")
    database_url = args.database_url or f"sqlite:///{work / 'service.db'}"
    emu_port, port = _free_port(), _free_port()
    emu_url = f"http://127.0.0.1:{emu_port}"
    _spawn(stack, [sys.executable, "-m", "assistant.lineemu", "--port", str(emu_port), "--access-token", "load-token"],
           dict(os.environ), work / "emulator.log", emu_url + "/_emu/requests?path=/none")
    env = {**os.environ, "WPA_HOME": str(home), "DATABASE_URL": database_url, "LINE_CHANNEL_SECRET": secret,
           "LINE_CHANNEL_ACCESS_TOKEN": "load-token", "LINE_API_BASE_URL": emu_url,
           "LINE_DATA_API_BASE_URL": emu_url}
    base = f"http://127.0.0.1:{port}"
    _spawn(stack, [sys.executable, "-m", "assistant.service", "serve", "--host", "127.0.0.1", "--port", str(port)],
           env, work / "service.log", base + "/healthz")
    return base, database_url


def run(args) -> Report:
    secret = args.secret or os.environ.get("LINE_CHANNEL_SECRET") or "load-check-channel-secret"
    total = int(args.rate * args.seconds)
    with ExitStack() as stack:
        if args.url:
            base, database_url = args.url.rstrip("/"), args.database_url or os.environ.get("DATABASE_URL", "")
        else:
            base, database_url = _start_service(stack, args, secret)
        _check_loopback(base)
        requests = build_requests(total, secret, args.redeliveries)
        event_ids = {eid for eid, _, _ in requests}
        report = Report(url=base + "/line/webhook", rate=args.rate, seconds=args.seconds, requests=total,
                        redeliveries=total - len(event_ids), distinct_events=len(event_ids))
        t0 = time.perf_counter()
        latencies, outcomes = asyncio.run(fire(report.url, requests, args.rate))
        elapsed = time.perf_counter() - t0
        report.ok = outcomes.count("200")
        for o in outcomes:
            if o != "200":
                report.non_200[o] = report.non_200.get(o, 0) + 1
        report.achieved_rate = round(total / elapsed, 1) if elapsed else 0.0
        ms = [x * 1000 for x in latencies]
        report.p50_ms = round(statistics.median(ms), 1) if ms else 0.0
        report.p90_ms = round(_percentile(ms, 90), 1)
        report.p99_ms = round(_percentile(ms, 99), 1)
        report.max_ms = round(max(ms), 1) if ms else 0.0
        if database_url:
            time.sleep(1.0)
            stored, missing, dupes, questions, drafted = verify_storage(database_url, event_ids)
            report.stored_events, report.missing_events = stored, missing
            report.duplicate_rows, report.questions, report.drafted = dupes, questions, drafted
        report.passed = (report.ok == total and report.p99_ms < 1000
                         and (report.stored_events is None or (report.missing_events == 0 and report.duplicate_rows == 0
                                                               and report.stored_events == len(event_ids))))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.load_webhook", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send (default 60)")
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second (default 50)")
    parser.add_argument("--url", help="base URL of a running service on loopback (default: start one)")
    parser.add_argument("--database-url", help="database to verify storage in (default: the started one / $DATABASE_URL)")
    parser.add_argument("--secret", help="channel secret to sign with (default $LINE_CHANNEL_SECRET)")
    parser.add_argument("--wpa-home", help="WPA_HOME for a started service (its index is used for drafting)")
    parser.add_argument("--redeliveries", type=float, default=0.05, help="share of requests that redeliver an event")
    parser.add_argument("--json", dest="json_path", help="also write the report as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the started service's folder (logs, database)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.rate <= 0:
        parser.error("--seconds and --rate must be positive")
    report = run(args)
    print(f"webhook load check: {report.requests} requests at {report.rate:g}/s for {report.seconds:g}s "
          f"(achieved {report.achieved_rate}/s) → {report.url}")
    print(f"  200s: {report.ok}/{report.requests}   other: {report.non_200 or 'none'}")
    print(f"  time to 200: p50 {report.p50_ms} ms   p90 {report.p90_ms} ms   p99 {report.p99_ms} ms   "
          f"max {report.max_ms} ms")
    if report.stored_events is not None:
        print(f"  stored: {report.stored_events} of {report.distinct_events} distinct events "
              f"({report.redeliveries} redeliveries sent); missing {report.missing_events}, "
              f"duplicates {report.duplicate_rows}; questions queued {report.questions}, "
              f"drafted so far {report.drafted}")
    else:
        print("  storage not verified (give --database-url)")
    print("  PASS" if report.passed else "  FAIL")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(asdict(report), ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
