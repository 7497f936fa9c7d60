"""Generates a few sample inputs and uploads them under samples/ in S3_BUCKET_NAME, so the README's
first jobs run as written on a machine with no internet: a clip with sound, an accented SRT, a
landscape and a portrait photo, and Portuguese speech (espeak-ng). Files already there are kept.
Prints each sample's public URL."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

PREFIX = "samples/"
SUBTITLES = """1
00:00:00,500 --> 00:00:02,500
Olá! Esta é a legenda de exemplo.

2
00:00:02,800 --> 00:00:05,500
Ação, emoção e informação: tudo em português.
"""
SPEECH = "Bom dia. Este é um exemplo de transcrição em português, com acentuação."


def _ffmpeg(*arguments: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *arguments], check=True)


def _clip(out: Path) -> None:
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24:duration=6"),
        *("-f", "lavfi", "-i", "sine=frequency=440:duration=6"),
        *("-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-shortest", "-movflags", "+faststart", str(out)),
    )


def _photo(size: str, out: Path) -> None:
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={size}:rate=1", "-frames:v", "1", str(out))


def _speech(out: Path) -> None:
    wav = out.with_suffix(".wav")
    subprocess.run(["espeak-ng", "-v", "pt-br", "-w", str(wav), SPEECH], check=True)
    _ffmpeg("-i", str(wav), "-c:a", "libmp3lame", "-q:a", "4", str(out))


SAMPLES = {
    "video.mp4": ("video/mp4", _clip),
    "legendas.srt": ("application/x-subrip; charset=utf-8", None),
    "paisagem.jpg": ("image/jpeg", lambda out: _photo("1920x1080", out)),
    "retrato.jpg": ("image/jpeg", lambda out: _photo("1080x1920", out)),
    "fala.mp3": ("audio/mpeg", _speech),
}


def main() -> int:
    bucket = os.environ["S3_BUCKET_NAME"]
    endpoint = os.environ["S3_ENDPOINT_URL"].rstrip("/")
    public_url = (os.environ.get("S3_PUBLIC_URL") or f"{endpoint}/{bucket}").rstrip("/")
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=os.environ["S3_ACCESS_KEY"],
        aws_secret_access_key=os.environ["S3_SECRET_KEY"],
        region_name=os.environ.get("S3_REGION", "us-east-1"),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
    )
    with tempfile.TemporaryDirectory(prefix="api-gpu-samples-") as scratch:
        for name, (content_type, make) in SAMPLES.items():
            key = f"{PREFIX}{name}"
            if not _exists(s3, bucket, key):
                path = Path(scratch) / name
                if make is None:
                    path.write_text(SUBTITLES, encoding="utf-8")
                else:
                    make(path)
                s3.upload_file(str(path), bucket, key, ExtraArgs={"ContentType": content_type})
            print(f"{public_url}/{quote(key)}")
    return 0


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
            return False
        raise


if __name__ == "__main__":
    sys.exit(main())
