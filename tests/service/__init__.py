"""Service tests: webhook, worker, console, failures, browser (see service_support for helpers)."""
