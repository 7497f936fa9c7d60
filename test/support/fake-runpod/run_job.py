"""One RunPod job in its own process, as a RunPod worker runs it: ``run_job.py KIND RESULT_PATH``.

The job (``{"id", "input"}``) comes on stdin; the handler's return value is written as JSON to
RESULT_PATH. KIND ``project`` calls this project's ``rp_handler.handler``; ``stock`` stands in for
RunPod's stock worker-faster_whisper (its documented input and output, word timestamps on),
transcribing with the project's faster-whisper setup.
"""

import json
import sys
import tempfile
import urllib.request
from pathlib import Path

WORKER_DIR = Path(__file__).resolve().parents[3] / "worker-python"
sys.path.insert(0, str(WORKER_DIR))


def run_project(job):
    import rp_handler
    from api_gpu_worker.encoders import select_encoder
    from api_gpu_worker.settings import Settings

    settings = Settings.from_env()
    rp_handler._runtime = rp_handler.Runtime(settings, select_encoder(settings.ffmpeg_encoder))
    return rp_handler.handler(job)


def run_stock(job):
    from api_gpu_worker.whisper import DecodingOptions, shared_transcriber
    from api_gpu_worker.whisper_models import resolve_model

    fields = job["input"]
    if not fields.get("audio"):
        return {"error": "Missing audio input"}
    with tempfile.TemporaryDirectory() as work:
        audio = Path(work) / "audio"
        with urllib.request.urlopen(fields["audio"], timeout=60) as response:  # noqa: S310 the test MinIO over http
            audio.write_bytes(response.read())
        transcript = shared_transcriber().transcribe(
            audio,
            resolve_model(fields.get("model", "base"), fields.get("language")),
            DecodingOptions(
                language=fields.get("language"),
                vad=fields.get("enable_vad", False),
                beam_size=fields.get("beam_size", 5),
                temperature=float(fields.get("temperature", 0)),
                initial_prompt=fields.get("initial_prompt"),
            ),
        )
    segments = [
        {
            "id": index,
            "seek": 0,
            "start": segment.start,
            "end": segment.end,
            "text": segment.text,
            "tokens": [],
            "temperature": float(fields.get("temperature", 0)),
            "avg_logprob": 0.0,
            "compression_ratio": 0.0,
            "no_speech_prob": 0.0,
        }
        for index, segment in enumerate(transcript.segments, start=1)
    ]
    output = {
        "segments": segments,
        "detected_language": transcript.language,
        "transcription": " ".join(segment.text.lstrip() for segment in transcript.segments),
        "translation": None,
        "device": transcript.device,
        "model": fields.get("model", "base"),
    }
    if fields.get("word_timestamps"):
        output["word_timestamps"] = [
            {"word": word.text, "start": word.start, "end": word.end}
            for segment in transcript.segments
            for word in segment.words
        ]
    return output


def main():
    kind, result_path = sys.argv[1], sys.argv[2]
    job = json.load(sys.stdin)
    result = run_stock(job) if kind == "stock" else run_project(job)
    Path(result_path).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
