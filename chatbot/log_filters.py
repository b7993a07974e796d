"""Logging filters for the server log."""

import logging


class RefusalsWithoutTraceback(logging.Filter):
    """Keep a refused request (403) to its one line: a refusal is expected, not a fault.

    Django logs PermissionDenied with its traceback at WARNING; an editor opening the console
    would otherwise write a dozen lines of stack for nothing that needs fixing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 403:
            record.exc_info = None
            record.exc_text = None
        return True
