"""Creates S3_BUCKET_NAME if it is missing and, when S3_PUBLIC_READ is true, lets anyone GET its
objects, so the URLs the API returns download without credentials (as the replaced service's
uploads did)."""

import json
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def public_read_policy(bucket: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["*"]},
                    "Action": ["s3:GetObject"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                }
            ],
        }
    )


def main() -> int:
    bucket = os.environ["S3_BUCKET_NAME"]
    s3 = boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchBucket"):
            raise
        s3.create_bucket(Bucket=bucket)
        print(f"created bucket {bucket}")
    if os.environ.get("S3_PUBLIC_READ", "false").lower() == "true":
        s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    return 0


if __name__ == "__main__":
    sys.exit(main())
