"""``python -m assistant.service serve|user|db`` — the service commands without the rest of ``wpa``."""
from .cli import standalone

standalone()(prog_name="python -m assistant.service")
