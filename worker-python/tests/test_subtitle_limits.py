"""Subtitle bounds: text past the limits refused naming the limit, ASS tags and styles clamped."""

import pytest

from api_gpu_worker.errors import MediaError
from api_gpu_worker.subtitle_limits import (
    MAX_CHARS_PER_LINE,
    MAX_CUES_PER_SECOND,
    MAX_DRAWING_NUMBERS,
    bound_subtitles,
)
from api_gpu_worker.subtitles import parse_subtitles

ASS_HEAD = """[Script Info]
ScriptType: v4.00+
PlayResX: 1920
PlayResY: 1080

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, Bold, ScaleX, ScaleY, Outline, Shadow
Style: Default,Arial,{size},&H00FFFFFF,0,{scale},100,{outline},2

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
"""


def ass(events: list[str], *, size="48", scale="100", outline="2", extra="") -> bytes:
    head = ASS_HEAD.format(size=size, scale=scale, outline=outline)
    return (head + "\n".join(events) + "\n" + extra).encode("utf-8")


def dialogue(text: str, layer: int = 0, start: str = "0:00:00.00") -> str:
    return f"Dialogue: {layer},{start},0:00:03.00,Default,,0,0,0,,{text}"


def bounded(data: bytes) -> str:
    return bound_subtitles(parse_subtitles(data, "url_srt"), "url_srt").decode("utf-8")


def refusal(data: bytes) -> str:
    with pytest.raises(MediaError) as raised:
        bounded(data)
    assert raised.value.field == "url_srt"
    return raised.value.message


def test_a_one_line_srt_of_megabytes_is_refused_naming_the_line_limit():
    data = b"1\n00:00:00,000 --> 00:00:03,000\n" + b"a" * (5 * 1024 * 1024) + b"\n"
    assert f"{MAX_CHARS_PER_LINE} characters per line" in refusal(data)


def test_too_many_cues_within_a_second_are_refused():
    events = [dialogue(f"layer {i}", layer=i) for i in range(MAX_CUES_PER_SECOND + 1)]
    assert "cues starting within one second" in refusal(ass(events))


def test_override_tags_and_styles_are_clamped_and_fonts_dropped():
    bomb = r"{\fs9999\blur100\be80\bord500\shad300\fscx5000\fscy0.001\t(\fs9000)}Olá, ação!"
    fonts = "\n[Fonts]\nfontname: evil.ttf\nM4%2&$!AAAA\n"
    text = bounded(ass([dialogue(bomb)], size="9999", scale="9000", outline="800", extra=fonts))
    assert r"{\fs300\blur10\be10\bord20\shad20\fscx400\fscy1\t(\fs300)}Olá, ação!" in text
    assert "Style: Default,Arial,300,&H00FFFFFF,0,400,100,20,2" in text
    assert "[Fonts]" not in text and "evil.ttf" not in text and "M4%2" not in text


def test_tags_inside_their_ranges_are_left_as_written():
    text = bounded(ass([dialogue(r"{\fs64\bord3\blur1.5\fscx110}Certo")]))
    assert r"{\fs64\bord3\blur1.5\fscx110}Certo" in text


def test_drawings_are_clamped_and_a_huge_one_refused():
    text = bounded(ass([dialogue(r"{\p1}m 0 0 l 99999 0 99999 -99999{\p0}fim 123456")]))
    assert "m 0 0 l 4096 0 4096 -4096" in text
    assert "fim 123456" in text
    points = " ".join(["l 1 1"] * (MAX_DRAWING_NUMBERS // 2 + 1))
    assert "drawing coordinates" in refusal(ass([dialogue(r"{\p1}m 0 0 " + points)]))


def test_srt_font_sizes_and_braced_tags_are_clamped():
    data = b'1\n00:00:00,000 --> 00:00:02,000\n<font size="5000">grande</font> {\\fs9999}x\n'
    text = bounded(data)
    assert '<font size="300">grande</font> {\\fs300}x' in text
