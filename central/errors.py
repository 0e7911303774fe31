"""Errors of the central service, one tree; the API maps each to one HTTP status.

CentralError
├── NotFound            404  the entity in the URL does not exist
├── Invalid             422  the body names something that does not exist, or is inconsistent
├── Forbidden           403  the token's role or edge does not allow this
├── Conflict            409  the change breaks a business rule (state, quantity, duplicate)
├── PreconditionFailed  412  ``If-Match`` names a stale revision
└── PreconditionRequired 428 a write that needs ``If-Match`` came without it
"""

from __future__ import annotations


class CentralError(Exception):
    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(CentralError):
    status_code = 404


class Invalid(CentralError):
    status_code = 422


class Forbidden(CentralError):
    status_code = 403


class Conflict(CentralError):
    status_code = 409


class PreconditionFailed(CentralError):
    status_code = 412


class PreconditionRequired(CentralError):
    status_code = 428
