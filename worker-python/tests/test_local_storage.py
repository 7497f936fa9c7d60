"""The storage the set-up provides: real MinIO, the bucket created, public read when asked.

Runs against the MinIO that `make test` starts (S3_* in the environment)."""

import os
import urllib.parse
import urllib.request
import uuid

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.skipif(
    "S3_ENDPOINT_URL" not in os.environ, reason="needs the MinIO that make test starts"
)


@pytest.fixture(scope="module")
def s3():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}),
    )


def public_url(key: str) -> str:
    base = f"{os.environ['S3_ENDPOINT_URL']}/{os.environ['S3_BUCKET_NAME']}"
    return f"{base}/{urllib.parse.quote(key)}"


def test_the_bucket_exists(s3):
    s3.head_bucket(Bucket=os.environ["S3_BUCKET_NAME"])


def test_an_uploaded_object_downloads_without_credentials_under_an_accented_key(s3):
    key = f"Canal Ação/vídeos {uuid.uuid4().hex}/legendado_ação.txt"
    body = "Olá, você!".encode()
    s3.put_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key, Body=body, ContentType="text/plain")
    try:
        with urllib.request.urlopen(public_url(key), timeout=10) as response:  # noqa: S310
            assert response.status == 200
            assert response.read() == body
            assert response.headers["Content-Type"] == "text/plain"
    finally:
        s3.delete_object(Bucket=os.environ["S3_BUCKET_NAME"], Key=key)


def test_anonymous_clients_cannot_write(s3):
    request = urllib.request.Request(  # noqa: S310
        public_url(f"anonymous-{uuid.uuid4().hex}.txt"), data=b"x", method="PUT"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310
    assert refused.value.code == 403
