"""Whether a local worker must be replaced before it takes another job.

Two things a finished job can leave behind that the next job must not inherit: memory the
process holds on to (an allocator rarely gives a large job's buffers back to the system), and a
whisper thread still decoding a transcription that was cancelled or timed out (it stops between
segments, and CTranslate2 cannot be interrupted within one). Either way the worker reports its
job, then exits, and the node starts a fresh one.
"""

import os

from .settings import Settings
from .whisper import shared_transcriber

# How long a stopped transcription's thread may take to reach the end of its segment.
STOPPED_TRANSCRIPTION_WAIT_S = 2.0


def resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def recycle_reason(settings: Settings) -> str | None:
    """Why this worker must not take another job, or None."""
    if not shared_transcriber().wait_idle(STOPPED_TRANSCRIPTION_WAIT_S):
        return "a stopped transcription is still running on the model's thread"
    rss = resident_mb()
    if rss > settings.worker_max_rss_mb:
        return (
            f"resident memory {rss:.0f} MB is over WORKER_MAX_RSS_MB ({settings.worker_max_rss_mb})"
        )
    return None
