"""The LINE-facing service: webhook intake, background worker, staff console.

Everything here runs from one process started by ``wpa serve``. The webhook
only stores events; a worker thread turns them into drafts and sends what
staff approved. The database (SQLite under WPA_HOME, or PostgreSQL) is the
single source of truth, so a restart at any point resumes from its rows.

Imports go one way: this package may import ``assistant.pipeline``,
``assistant.citations`` and ``assistant.config``; nothing there imports us.
"""
