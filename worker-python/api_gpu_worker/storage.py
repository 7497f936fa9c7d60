"""Results to S3/MinIO with the worker's own credentials, and inputs read from allowed buckets.

An object appears at its final key only complete: a single PUT below the multipart threshold,
above it a multipart upload, which S3 assembles only on its final request (boto3 aborts it on
failure). Every key a job uploads is recorded, so a job that fails later deletes what it wrote.
"""

import logging
import mimetypes
import threading
import urllib.parse
from functools import cache
from pathlib import Path, PurePosixPath

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .errors import FetchError, InputError, StorageError
from .settings import Settings

log = logging.getLogger(__name__)

_MULTIPART_THRESHOLD = 64 * 1024 * 1024
_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/x-m4v",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".srt": "application/x-subrip",
    ".ass": "text/x-ssa",
    ".json": "application/json",
    ".vtt": "text/vtt",
}


def object_key(path: str, filename: str) -> str:
    """The key of ``filename`` under the job's ``path`` prefix (a "/" added between if missing).

    A key that a storage server or a proxy in front of it might normalise (a leading "/", a "."
    or ".." segment) is refused here rather than trusted to the server.
    """
    for value, field in ((path, "path"), (filename, "output_filename")):
        if value.startswith("/") or {".", ".."} & set(value.split("/")):
            raise InputError(
                f'{field}: must not start with "/" nor hold a "." or ".." segment', field=field
            )
    return f"{path}{filename}" if not path or path.endswith("/") else f"{path}/{filename}"


def content_type_for(filename: str) -> str:
    suffix = PurePosixPath(filename).suffix.lower()
    return (
        _CONTENT_TYPES.get(suffix)
        or mimetypes.guess_type(filename)[0]
        or "application/octet-stream"
    )


@cache
def s3_client(settings: Settings):
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=Config(
            s3={"addressing_style": "path"},
            signature_version="s3v4",
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        ),
    )


class Storage:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = s3_client(settings)
        self.uploaded: list[str] = []
        self._lock = threading.Lock()

    def public_url(self, key: str) -> str:
        return f"{self.settings.s3_public_url}/{urllib.parse.quote(key, safe='/')}"

    def upload(self, path: Path, key: str, content_type: str | None = None) -> str:
        """Uploads ``path`` to ``key`` of the results bucket; returns its public URL."""
        try:
            self.client.upload_file(
                str(path),
                self.settings.s3_bucket,
                key,
                ExtraArgs={"ContentType": content_type or content_type_for(key)},
                Config=TransferConfig(
                    multipart_threshold=_MULTIPART_THRESHOLD,
                    multipart_chunksize=_MULTIPART_THRESHOLD,
                ),
            )
        except (BotoCoreError, ClientError, OSError) as error:
            raise StorageError(f"could not upload the result: {_describe(error)}") from None
        with self._lock:
            self.uploaded.append(key)
        return self.public_url(key)

    def delete_uploaded(self) -> None:
        """Deletes every object this job uploaded (its rollback); errors are logged, not raised."""
        with self._lock:
            keys, self.uploaded = self.uploaded, []
        for key in keys:
            try:
                self.client.delete_object(Bucket=self.settings.s3_bucket, Key=key)
            except (BotoCoreError, ClientError) as error:
                log.error("could not delete %s after a failed job: %s", key, _describe(error))

    def readable_buckets(self) -> tuple[str, ...]:
        return (self.settings.s3_bucket, *self.settings.s3_input_buckets)

    def open_object(self, bucket: str, key: str, *, field: str = "url"):
        """Starts reading an input object; returns the HTTP response whose body is the object.

        Only the results bucket and S3_INPUT_BUCKETS may be read; a missing object is a
        FetchError naming ``field``.
        """
        if bucket not in self.readable_buckets():
            raise InputError(
                f"{field}: bucket {bucket!r} is not one this worker may read "
                "(S3_BUCKET_NAME or S3_INPUT_BUCKETS)",
                field=field,
            )
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
        except ClientError as error:
            status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if status in (403, 404):
                raise FetchError(
                    f"{field}: object not found in bucket {bucket!r} (HTTP {status})", field=field
                ) from None
            raise FetchError(
                f"{field}: could not read the object: {_describe(error)}",
                field=field,
                retryable=status >= 500,
            ) from None
        except BotoCoreError as error:
            raise FetchError(
                f"{field}: could not read the object: {_describe(error)}",
                field=field,
                retryable=True,
            ) from None
        # The urllib3 response under botocore's StreamingBody: fetch reads it under the same size
        # cap, deadline and cancel as an HTTP download, and only it can be shut down mid-read.
        return response["Body"]._raw_stream


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'error')}: {details.get('Message', '')}".strip(": ")
    return type(error).__name__
