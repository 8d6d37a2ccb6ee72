"""``wpa serve``'s processes: the web process, a worker process, a drafting process.

Why processes and not threads: handling events, sending and above all
drafting (retrieval: embeddings, BM25) are CPU work; in the web process they
would hold the GIL — and both cores — while LINE waits for the webhook's 200.
So the worker lanes run in a child process, and retrieval runs in a further
child at a lower priority (``nice``) that never touches the database: under
load the kernel gives the CPU to the webhook first, and nobody waits on a lock
held by a starved low-priority process. Each child dies with its parent
(PR_SET_PDEATHSIG, and a parent watch as fallback), so a killed service never
leaves an orphan running beside its restarted successor.
"""
from __future__ import annotations

import ctypes
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import dataclass, field

from .settings import ServiceSettings

log = logging.getLogger("wpa.service.worker")

LANES = ("intake", "drafts", "media", "outbox")
WORKER_NICENESS = 5      # the webhook's 200 comes first; acks and sends may lag a little under load
DRAFTER_NICENESS = 10
DRAFT_TIMEOUT_SECONDS = 300


def _die_with_parent(parent_pid: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG
    except OSError:
        pass
    if os.getppid() != parent_pid:        # parent already gone before prctl took effect
        os._exit(1)

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)
    threading.Thread(target=watch, name="wpa-parent-watch", daemon=True).start()


_assistant = None


def _drafter_init(parent_pid: int, home: str) -> None:
    _die_with_parent(parent_pid)
    try:
        os.nice(DRAFTER_NICENESS - WORKER_NICENESS)     # relative to the worker that starts us
    except OSError:
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ["WPA_HOME"] = home


def _drafter_load() -> bool:
    global _assistant
    if _assistant is None:
        from assistant.pipeline import Assistant

        _assistant = Assistant.load()
    return True


def _drafter_ask(question: str):
    _drafter_load()
    return _assistant.ask(question)


class PooledDrafter:
    """A ``Callable[[str], Draft]`` that runs assistant.pipeline in a low-priority process."""

    def __init__(self, home: str):
        self.home = home
        self._lock = threading.Lock()
        self._pool = None

    def _get_pool(self):
        from concurrent.futures import ProcessPoolExecutor

        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn"),
                                                 initializer=_drafter_init, initargs=(os.getpid(), self.home))
            return self._pool

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def load(self) -> None:
        try:
            self._get_pool().submit(_drafter_load).result(timeout=DRAFT_TIMEOUT_SECONDS)
        except Exception:
            self._reset()
            raise

    def __call__(self, question: str):
        try:
            return self._get_pool().submit(_drafter_ask, question).result(timeout=DRAFT_TIMEOUT_SECONDS)
        except Exception as exc:
            from concurrent.futures import TimeoutError as FutureTimeout
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, (BrokenProcessPool, FutureTimeout)):
                self._reset()      # a crashed or hung drafter is replaced; the job retries
            raise

    def close(self) -> None:
        self._reset()


def _read_wakeups(fd: int, events: dict[str, threading.Event], stop: threading.Event) -> None:
    """Turn bytes from the web process into lane wake-ups; EOF means the parent is gone."""
    while True:
        try:
            data = os.read(fd, 256)
        except OSError:
            data = b""
        if not data:
            stop.set()
            return
        for code in set(data):
            name = _LANE_OF_CODE.get(code)
            if name:
                events[name].set()


_CODE_OF_LANE = {name: name[0].encode() for name in LANES}          # b"i", b"d", b"m", b"o"
_LANE_OF_CODE = {code[0]: name for name, code in _CODE_OF_LANE.items()}


def worker_main(settings: ServiceSettings, wake_conn, parent_pid: int) -> None:
    """Entry point of the worker process.

    It shares no locks with the web process (a process killed while holding a
    multiprocessing lock would wedge the other side): wake-ups arrive as bytes
    on a pipe, and stopping is SIGTERM.
    """
    _die_with_parent(parent_pid)
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C goes to the parent, which stops us
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    os.environ["WPA_HOME"] = str(settings.home)

    from .db import make_engine, make_sessionmaker
    from .line_gateway import LineGateway
    from .worker import Worker

    events = {name: threading.Event() for name in LANES}
    threading.Thread(target=_read_wakeups, args=(wake_conn.fileno(), events, stop), name="wpa-wakeups",
                     daemon=True).start()
    engine = make_engine(settings.database_url, durable=False)
    gateway = LineGateway(settings)
    drafter = PooledDrafter(str(settings.home))
    worker = Worker(settings, make_sessionmaker(engine), gateway, drafter, warm_up=drafter.load, wake_events=events)
    worker.start()
    log.info("worker process %d started", os.getpid())
    while not stop.wait(1.0):
        pass
    worker.stop()
    drafter.close()
    gateway.close()
    engine.dispose()


@dataclass
class WorkerProcess:
    """The parent's handle: start, wake, supervise and stop the child."""

    settings: ServiceSettings
    ctx: mp.context.SpawnContext = field(default_factory=lambda: mp.get_context("spawn"))
    process: mp.process.BaseProcess | None = None
    restarts: int = 0
    stopping: bool = False
    _wake_conn: object = None

    def start(self) -> None:
        # Not a daemon: daemonic processes may not start children, and the worker
        # starts the drafting process. Its lifetime is tied to ours by prctl instead.
        self.stopping = False
        reader, writer = self.ctx.Pipe(duplex=False)
        self.process = self.ctx.Process(target=worker_main, name="wpa-worker", daemon=False,
                                        args=(self.settings, reader, os.getpid()))
        self.process.start()
        reader.close()
        os.set_blocking(writer.fileno(), False)     # a stuck worker must never block a web request
        old, self._wake_conn = self._wake_conn, writer
        if old is not None:
            old.close()

    def wake(self, *names: str) -> None:
        conn = self._wake_conn
        if conn is None:
            return
        try:
            os.write(conn.fileno(), b"".join(_CODE_OF_LANE[n] for n in (names or LANES)))
        except (OSError, ValueError):
            pass     # pipe full or worker gone: the lanes' own polling finds the work

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def ensure_running(self) -> None:
        """Restart a worker that died (its unfinished work is picked up again)."""
        if self.process is not None and not self.process.is_alive() and not self.stopping:
            log.error("worker process exited with %s; restarting", self.process.exitcode)
            self.restarts += 1
            self.start()

    def stop(self, timeout: float = 8.0) -> None:
        if self.process is None:
            return
        self.stopping = True
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        if self._wake_conn is not None:
            self._wake_conn.close()
            self._wake_conn = None
