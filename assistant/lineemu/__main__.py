"""``python -m assistant.lineemu [--host H] [--port P] [--access-token T]``: run the LINE emulator."""
from __future__ import annotations

import argparse

from .app import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="LINE Messaging API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--access-token", default=None, help="only accept this Bearer token")
    args = parser.parse_args()
    main(args.host, args.port, args.access_token)
