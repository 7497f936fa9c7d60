"""The errors a job ends with, as both entry points report them.

Every error becomes ``{"code", "message", "field"?, "retryable"}``. Messages name the field
(``images[0].image_url: ...``) and never carry a URL's query string, a credential or a path of
the worker's disk, so they can be shown to the API's caller as they are.
"""

import logging
import re
from typing import Any

log = logging.getLogger(__name__)


class JobError(Exception):
    code = "job_failed"
    default_retryable = False

    def __init__(self, message: str, *, field: str | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.retryable = self.default_retryable if retryable is None else retryable

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            error["field"] = self.field
        error["retryable"] = self.retryable
        return error


class InputError(JobError):
    """The request itself is wrong; running it again cannot help."""

    code = "invalid_input"


class MediaError(JobError):
    """A fetched file is not what it claims, too long, too big, or does not parse."""

    code = "invalid_media"


class FetchError(JobError):
    """An input could not be downloaded; retryable only for network errors and 5xx upstream."""

    code = "fetch_failed"


class EncoderError(JobError):
    """The encoder could not run (no usable NVENC when forced, a failed encode)."""

    code = "encoder_failed"


class ProcessingError(JobError):
    """A media tool failed on inputs that passed every check."""

    code = "processing_failed"


class StorageError(JobError):
    """The result could not be uploaded."""

    code = "storage_failed"
    default_retryable = True


class JobCancelled(JobError):
    code = "cancelled"

    def __init__(self, message: str = "the job was cancelled") -> None:
        super().__init__(message)


class JobTimedOut(JobError):
    """The job ran past its deadline: its processes were killed and its files removed."""

    code = "timed_out"

    def __init__(self, deadline_s: float) -> None:
        super().__init__(f"the job ran past its deadline of {deadline_s:g} s and was stopped")


class InternalError(JobError):
    code = "internal_error"


def as_job_error(error: BaseException) -> JobError:
    """The reportable form of any exception; unexpected ones are logged with their traceback."""
    if isinstance(error, JobError):
        return error
    log.error("unexpected error in a job", exc_info=error)
    return InternalError(f"internal error ({type(error).__name__}); see the worker's log")


_URL_QUERY = re.compile(r"(\b(?:https?|s3)://[^\s?#'\"]*)[?#][^\s'\"]*")


def redact_url(url: str) -> str:
    """A URL fit for a message: its query string and fragment (signatures, tokens) dropped."""
    return _URL_QUERY.sub(r"\1", url)
