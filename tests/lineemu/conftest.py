"""One real emulator server per test module, wiped before each test."""
from __future__ import annotations

from typing import Iterator

import pytest

from assistant.lineemu.server import EmulatorClient, running_emulator

ACCESS_TOKEN = "test-channel-access-token"


@pytest.fixture(scope="module")
def _server() -> Iterator[EmulatorClient]:
    with running_emulator(access_token=ACCESS_TOKEN) as emu:
        yield emu


@pytest.fixture()
def emu(_server: EmulatorClient) -> EmulatorClient:
    _server.reset()
    return _server
