"""Reading the SRT and ASS files a caption job burns in; the karaoke writer's timing rules."""

import re

import pytest

from api_gpu_worker.subtitles import (
    Segment,
    SubtitleError,
    Word,
    karaoke_ass,
    parse_subtitles,
    segments_srt,
    transcript_text,
)

SRT = (
    "1\n00:00:01,000 --> 00:00:02,500\nação, não, você\nsegunda linha\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\n<i>Até já</i>\n"
)


def test_srt_cues_keep_their_text_and_times() -> None:
    parsed = parse_subtitles(SRT.encode(), "url_srt")
    assert parsed.format == "srt"
    assert [(cue.start_ms, cue.end_ms, cue.text) for cue in parsed.cues] == [
        (1000, 2500, "ação, não, você\nsegunda linha"),
        (3000, 4000, "<i>Até já</i>"),
    ]
    assert parsed.content == SRT.encode()


def test_srt_from_windows_tools_is_normalised_to_utf8() -> None:
    crlf = SRT.replace("\n", "\r\n")
    for data in (
        b"\xef\xbb\xbf" + crlf.encode(),
        crlf.encode("utf-16"),
        crlf.encode("cp1252"),
    ):
        parsed = parse_subtitles(data, "url_srt")
        assert parsed.content == SRT.encode()


def test_srt_tolerates_missing_numbers_dots_and_missing_blank_lines() -> None:
    sloppy = "00:00:01.000 --> 00:00:02.000\nfirst\n2\n00:00:02,5 --> 00:00:03,000 X1:10\nsecond\n"
    parsed = parse_subtitles(sloppy.encode(), "url_srt")
    assert [(cue.start_ms, cue.end_ms, cue.text) for cue in parsed.cues] == [
        (1000, 2000, "first"),
        (2500, 3000, "second"),
    ]
    assert parsed.content.decode().startswith("1\n00:00:01,000 --> 00:00:02,000\nfirst\n\n2\n")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n  \n", "empty"),
        (b"hello world\n", "line 1 is neither a cue number nor a time line"),
        (b"1\n00:00:01,000 -> 00:00:02,000\nx\n", "line 1 is neither"),
        (b"1\n00:00:01,000 --> 00:00:02,000\nx\n\ngarbage\n", "line 5 is neither"),
        (b"1\n00:00:61,000 --> 00:01:02,000\nx\n", "below 60"),
        (b"\x00\x01\x02PK\x03\x04", "not a text file"),
        (b"\x81\x8d\x8f\x90\x9d", "not UTF-8 or Windows-1252"),
    ],
)
def test_srt_that_does_not_parse_names_the_field(data: bytes, message: str) -> None:
    with pytest.raises(SubtitleError, match=re.escape(message)) as caught:
        parse_subtitles(data, "url_srt")
    assert caught.value.field == "url_srt"
    assert str(caught.value).startswith("url_srt: ")


def test_srt_cue_ending_before_it_starts_is_refused() -> None:
    data = b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:05,000 --> 00:00:04,000\nbad\n"
    with pytest.raises(SubtitleError) as caught:
        parse_subtitles(data, "url_srt")
    assert caught.value.field == "url_srt"
    assert "cue 2 (line 6) ends at 00:00:04,000, before it starts at 00:00:05,000" in str(
        caught.value
    )


ASS = (
    "[Script Info]\n"
    "ScriptType: v4.00+\n"
    "\n"
    "[V4+ Styles]\n"
    "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
    "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\n"
    "Style: Default,DejaVu Sans,48,&H00FFFFFF,&H000088EF,&H00000000,&H80000000,"
    "0,0,0,0,100,100,0,0,1,2,1,2,10,10,25,1\n"
    "\n"
    "[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    "Comment: 0,0:00:00.00,0:00:01.00,Default,,0,0,0,,not shown\n"
    "Dialogue: 0,0:00:00.50,0:00:02.00,Default,,0,0,0,,{\\k50}ação, {\\k100}não\n"
)


def test_ass_keeps_its_content_and_reads_dialogue_times() -> None:
    parsed = parse_subtitles(ASS.encode(), "url_srt")
    assert parsed.format == "ass"
    assert parsed.suffix == ".ass"
    assert parsed.content == ASS.encode()
    assert [(cue.start_ms, cue.end_ms, cue.text) for cue in parsed.cues] == [
        (500, 2000, "{\\k50}ação, {\\k100}não")
    ]


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("0:00:00.50,0:00:02.00", "0:00:02.00,0:00:00.50", "before it starts at 0:00:02.00"),
        ("0:00:00.50,", "half past,", "'half past' is not an ASS time"),
        ("Format: Layer, Start, End,", "Format: Layer, Start,", "Format lacks end"),
        (
            "Dialogue: 0,0:00:00.50,0:00:02.00,Default,,0,0,0,,",
            "Dialogue: 0,0:00:00.50",
            "fewer fields",
        ),
        ("[Events]", "[Eventos]", "no [Events] section"),
        ("Dialogue:", "Comment:", "no Dialogue lines"),
    ],
)
def test_ass_that_does_not_parse_names_the_field(replace: str, by: str, message: str) -> None:
    assert replace in ASS
    with pytest.raises(SubtitleError, match=re.escape(message)) as caught:
        parse_subtitles(ASS.replace(replace, by).encode(), "url_srt")
    assert caught.value.field == "url_srt"


def test_karaoke_highlight_stays_on_the_voice_after_a_pause() -> None:
    words = (Word(" Olá", 1.0, 1.4), Word(" você", 3.9, 4.3), Word(" aí?", 4.35, 4.6))
    ass = karaoke_ass([Segment(1.0, 4.6, " Olá você aí?", words)]).decode()
    (dialogue,) = [line for line in ass.splitlines() if line.startswith("Dialogue:")]
    start, end, text = re.fullmatch(
        r"Dialogue: 0,(\S+?),(\S+?),Karaoke,,0,0,0,,(.*)", dialogue
    ).groups()
    assert (start, end) == ("0:00:01.00", "0:00:04.60")
    durations = [int(k) for k in re.findall(r"\{\\k(\d+)\}", text)]
    assert durations == [40, 250, 40, 5, 25]
    onsets = [sum(durations[:index]) for index in range(len(durations))]
    # Each word lights up at its own start time, measured from the line's start.
    assert [onsets[0], onsets[2], onsets[4]] == [0, 290, 335]
    assert sum(durations) == 360
    assert "Style: Karaoke,DejaVu Sans,48,&H00FFFFFF,&H000088EF" in ass
    assert "PlayResX: 1920\nPlayResY: 1080\n" in ass


def test_transcript_text_joins_segments() -> None:
    segments = [Segment(0, 1, "  Bom dia.\n"), Segment(1, 2, " "), Segment(2, 3, " Tudo bem?")]
    assert transcript_text(segments) == "Bom dia. Tudo bem?"
    assert segments_srt(segments).decode().count(" --> ") == 2
