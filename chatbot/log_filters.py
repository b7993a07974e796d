"""Logging filters for the server log."""

import logging

from chatbot import personal_data


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


class MaskPersonalData(logging.Filter):
    """Mask the personal data in a record's message, its arguments and its traceback.

    Installed on every handler: whatever a line quotes (a message's text in an error, a frame
    a library logs), a card number or an email never reaches the log's output.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: the handler reports it as logging does
            return True
        masked, kinds = personal_data.mask(message)
        if kinds:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # Formatted once here and cached where every formatter looks for it.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = personal_data.mask(record.exc_text)[0]
        if record.stack_info:
            record.stack_info = personal_data.mask(record.stack_info)[0]
        return True


def mask_on_every_handler() -> None:
    """Put MaskPersonalData on each handler of every logger that has one.

    settings.LOGGING installs it on the console handler; this reaches the handlers others set
    up themselves: Django's own (the "django" logger's), a Celery worker's.
    """
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", ()):
            if not any(isinstance(f, MaskPersonalData) for f in handler.filters):
                handler.addFilter(MaskPersonalData())
