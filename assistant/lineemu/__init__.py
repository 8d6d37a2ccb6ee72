"""LINE Platform test double: spec validation, webhook builders, and a Messaging API emulator.

Contracts come from LINE's own OpenAPI files (``$WPA_LINE_CONTRACTS``), so the
emulator rejects exactly what the spec says LINE would reject.
"""
from .contracts import ContractViolation, Operation, Problem, contracts_dir, validate_request, validate_schema, validate_webhook_body

__all__ = [
    "ContractViolation",
    "Operation",
    "Problem",
    "contracts_dir",
    "validate_request",
    "validate_schema",
    "validate_webhook_body",
]
