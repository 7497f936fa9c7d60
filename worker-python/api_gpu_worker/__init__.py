"""The api-gpu media worker: media jobs on FFmpeg and faster-whisper, results to S3."""
