"""Word-level captions rendered by real libass and measured on the frames.

Each render is one frame of a black video with the generated ASS burnt in by FFmpeg's subtitles
filter. A word's place on screen is measured from a reference render of the same page in which
every other word is transparent (same layout, only that word inked).
"""

import json
import re
import subprocess
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from api_gpu_worker.caption_ass import ass_script, pages, play_res
from api_gpu_worker.caption_style import CaptionStyle, caption_style
from api_gpu_worker.caption_words import (
    Block,
    TimedCaption,
    TimedWord,
    from_subtitles,
    from_words_json,
)
from api_gpu_worker.contract import caption_presets
from api_gpu_worker.errors import InputError
from api_gpu_worker.subtitles import SubtitleError, parse_subtitles

WIDTH, HEIGHT = 480, 270
RED, GREEN, BLUE, WHITE = "#FF0000", "#00FF00", "#0000FF", "#FFFFFF"
# Four words, 0.5 s each, with a 0.5 s pause before the last.
WORDS = (("uma", 0, 500), ("ação", 500, 1000), ("não", 1000, 1500), ("você", 2000, 2500))


def caption(words=WORDS) -> TimedCaption:
    return TimedCaption(
        (Block(tuple(TimedWord(text, start, end) for text, start, end in words)),), "measured"
    )


def render(directory: Path, script: str, at_s: float, size=(WIDTH, HEIGHT)) -> np.ndarray:
    width, height = size
    (directory / "subs.ass").write_text(script, encoding="utf-8")
    raw = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "lavfi", "-i", f"color=black:s={width}x{height}:r=25:d={at_s + 0.2}",
            "-vf", "subtitles=subs.ass", "-ss", f"{at_s}", "-frames:v", "1",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        cwd=directory,
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(np.int16)


def colour_mask(frame: np.ndarray, hex_colour: str, tolerance: int = 60) -> np.ndarray:
    target = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
    return np.abs(frame - target).max(axis=2) < tolerance


def ink(frame: np.ndarray) -> np.ndarray:
    return frame.max(axis=2) > 100


def word_place(directory: Path, style: CaptionStyle, index: int, size=(WIDTH, HEIGHT)):
    """The pixels word ``index`` covers when its page is shown (the other words transparent)."""
    classic = replace(style, kind="classic", pop_scale=1.0)
    page = next(page for page in pages(caption(), classic) if WORDS[index][0] in
                [w.text for w in page.words])  # fmt: skip
    lines = [
        " ".join(
            word.text if word.text == WORDS[index][0] else f"{{\\alpha&HFF&}}{word.text}{{\\r}}"
            for word in line
        )
        for line in page.lines
    ]
    script = ass_script(caption(), classic, *size)
    head, _, _ = script.partition("Dialogue:")
    text = "\\N".join(lines)
    event = f"Dialogue: 0,0:00:00.00,0:00:09.00,Caption,,0,0,0,,{text}\n"
    return ink(render(directory, head + event, 0.1, size))


def mid_s(index: int) -> float:
    _, start, end = WORDS[index]
    return (start + end) / 2000


def test_srt_words_are_interpolated_by_length_inside_the_cue() -> None:
    srt = "1\n00:00:01,000 --> 00:00:03,000\naa bbbb\ncc\n\n2\n00:00:05,000 --> 00:00:06,000\nzz\n"
    timed = from_subtitles(parse_subtitles(srt.encode(), "url_srt"))
    assert timed.timing == "interpolated"
    first, second = timed.blocks
    # weights 3, 5, 2 of 10 over 2000 ms; the gap between the cues stays a gap.
    assert [(w.text, w.start_ms, w.end_ms, w.new_line) for w in first.words] == [
        ("aa", 1000, 1600, False),
        ("bbbb", 1600, 2600, False),
        ("cc", 2600, 3000, True),
    ]
    assert [(w.start_ms, w.end_ms) for w in second.words] == [(5000, 6000)]


def test_words_json_times_are_measured_and_pauses_split_blocks() -> None:
    document = {
        "words": [
            {"word": " Olá", "start": 0.1, "end": 0.4},
            {"word": "mundo", "start": 0.5, "end": 0.9},
            {"word": "depois", "start": 3, "end": 3.5},
        ]
    }
    timed = from_words_json(json.dumps(document).encode(), "url_words")
    assert timed.timing == "measured"
    assert [[(w.text, w.start_ms, w.end_ms) for w in b.words] for b in timed.blocks] == [
        [("Olá", 100, 400), ("mundo", 500, 900)],
        [("depois", 3000, 3500)],
    ]


@pytest.mark.parametrize(
    "document",
    [b"{}", b'{"words": [{"word": "a", "start": -1, "end": 1}]}', b"{nope", b'{"words": []}'],
)
def test_a_words_file_that_is_not_one_names_the_field(document: bytes) -> None:
    with pytest.raises(SubtitleError) as caught:
        from_words_json(document, "url_words")
    assert caught.value.field == "url_words"


def test_karaoke_ass_tags_give_measured_word_times() -> None:
    ass = (
        "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:01.00,0:00:03.00,K,,0,0,0,,{\\k50}ação {\\k30}{\\kf70}não\n"
    )
    timed = from_subtitles(parse_subtitles(ass.encode(), "url_srt"))
    assert timed.timing == "measured"
    assert [(w.text, w.start_ms, w.end_ms) for w in timed.blocks[0].words] == [
        ("ação", 1000, 1500),
        ("não", 1800, 2500),
    ]


def test_paging_obeys_the_limits_in_the_generated_ass() -> None:
    words = [(f"w{i}{'x' * (i % 4)}", i * 300, i * 300 + 250) for i in range(17)]
    style = caption_style({"kind": "highlight", "max_words_per_line": 3, "max_chars_per_line": 10})
    script = ass_script(caption(words), style, 1920, 1080)
    previous_end = 0
    texts = set()
    for line in script.splitlines():
        if not line.startswith("Dialogue:"):
            continue
        fields = line.split(",", 9)
        texts.add(fields[9])
        start, end = (_seconds(fields[1]), _seconds(fields[2]))
        assert start >= previous_end - 1e-9, "events overlap"
        previous_end = end
    for text in texts:
        plain = _plain(text)
        lines = plain.split("\\N")
        assert len(lines) <= 2
        for row in lines:
            assert len(row.split()) <= 3 and len(row) <= 10, row
    all_pages = pages(caption(words), style)
    assert sum(len(page.words) for page in all_pages) == len(words), "a word was lost"
    for page in all_pages:
        assert page.start_ms == page.words[0].start_ms
        assert page.end_ms <= page.words[-1].end_ms, "a page outlived its words"


def test_a_word_longer_than_the_line_is_never_split() -> None:
    style = caption_style({"kind": "classic", "max_chars_per_line": 8})
    all_pages = pages(caption((("extraordinariamente", 0, 900), ("sim", 900, 1000))), style)
    assert [[w.text for w in line] for p in all_pages for line in p.lines] == [
        ["extraordinariamente"],
        ["sim"],
    ]


def test_word_text_cannot_break_out_of_the_ass_event() -> None:
    hostile = (("{\\an8\\p1}m", 0, 500), ("a\\Nb}", 500, 900))
    script = ass_script(caption(hostile), caption_style({"kind": "pop"}), 640, 360)
    events = [line for line in script.splitlines() if line.startswith("Dialogue:")]
    for event in events:
        text = event.split(",", 9)[9]
        assert "\\an8" not in text and "\\p1" not in text and "\\Nb" not in text
        assert text.count("{") == text.count("}")


def test_highlight_colours_the_spoken_word_at_its_mid_time(tmp_path: Path) -> None:
    style = caption_style({"kind": "highlight", "colors": {"highlight": RED, "primary": WHITE}})
    script = ass_script(caption(), style, WIDTH, HEIGHT)
    for index in (1, 2):
        frame = render(tmp_path, script, mid_s(index))
        red = colour_mask(frame, RED)
        place = word_place(tmp_path, style, index)
        assert red.sum() > 30
        assert (red & place).sum() / red.sum() > 0.9, "red outside the spoken word"
        assert (red & place).sum() / place.sum() > 0.4, "the spoken word is not red"
        assert colour_mask(frame, WHITE)[~place].sum() > 100, "the other words are not white"


def test_pop_shows_spoken_active_and_upcoming_colours_and_scales_the_active_word(
    tmp_path: Path,
) -> None:
    fields = {"kind": "pop", "pop": {"scale": 1.5},
              "colors": {"highlight": RED, "spoken": GREEN, "primary": WHITE}}  # fmt: skip
    style = caption_style(fields)
    frame = render(tmp_path, ass_script(caption(), style, WIDTH, HEIGHT), mid_s(2))
    red, green, white = (colour_mask(frame, c) for c in (RED, GREEN, WHITE))
    # The scaled word pushes its neighbours aside, so the states are told apart by their order:
    # spoken words left of the active one, the word still to come right of it.
    assert min(red.sum(), green.sum(), white.sum()) > 50
    red_columns = np.nonzero(red.any(axis=0))[0]
    assert np.nonzero(green.any(axis=0))[0].max() < red_columns.min()
    assert np.nonzero(white.any(axis=0))[0].min() > red_columns.max()
    active = word_place(tmp_path, style, 2)
    red_rows = np.nonzero(red.any(axis=1))[0]
    plain_rows = np.nonzero(active.any(axis=1))[0]
    red_height = red_rows.max() - red_rows.min()
    assert red_height > 1.3 * (plain_rows.max() - plain_rows.min()), "the active word is not scaled"


def test_karaoke_sweeps_the_word_being_spoken(tmp_path: Path) -> None:
    style = caption_style({"kind": "karaoke", "colors": {"highlight": RED, "primary": WHITE}})
    frame = render(tmp_path, ass_script(caption(), style, WIDTH, HEIGHT), mid_s(1))
    red, white = colour_mask(frame, RED), colour_mask(frame, WHITE)
    sung, singing, unsung = (word_place(tmp_path, style, i) for i in (0, 1, 3))
    assert (red & sung).sum() / sung.sum() > 0.4 and (white & sung).sum() == 0
    assert (white & unsung).sum() / unsung.sum() > 0.4 and (red & unsung).sum() == 0
    columns = np.nonzero(singing.any(axis=0))[0]
    middle = (columns.min() + columns.max()) // 2
    left, right = singing.copy(), singing.copy()
    left[:, middle - 2 :] = False
    right[:, : middle + 2] = False
    assert (red & left).sum() > (white & left).sum(), "the first half of the word is not swept"
    assert (white & right).sum() > (red & right).sum(), "the sweep ran ahead of the word"


def test_word_by_word_shows_one_word_at_a_time(tmp_path: Path) -> None:
    style = caption_style({"kind": "word_by_word"})
    script = ass_script(caption(), style, WIDTH, HEIGHT)
    classic = ass_script(caption(), caption_style({}), WIDTH, HEIGHT)
    line_width = _width(ink(render(tmp_path, classic, 0.2)))
    for index in range(len(WORDS)):
        frame = ink(render(tmp_path, script, mid_s(index)))
        alone = ass_script(caption((WORDS[index],)), caption_style({}), WIDTH, HEIGHT)
        expected = _width(ink(render(tmp_path, alone, mid_s(index))))
        assert abs(_width(frame) - expected) <= 3
        assert _width(frame) < line_width * 0.45
    # Through the pause before the last word the previous word stays up.
    assert ink(render(tmp_path, script, 1.75)).sum() > 0


def test_a_box_is_drawn_behind_the_text(tmp_path: Path) -> None:
    style = caption_style({"box": {"color": BLUE, "alpha": 0, "padding": 6}})
    frame = render(tmp_path, ass_script(caption(), style, WIDTH, HEIGHT), 0.2)
    box = colour_mask(frame, BLUE)
    text = colour_mask(frame, WHITE)
    assert box.sum() > 2000
    box_rows, box_cols = np.nonzero(box)
    text_rows, text_cols = np.nonzero(text)
    assert box_rows.min() < text_rows.min() and box_rows.max() > text_rows.max()
    assert box_cols.min() < text_cols.min() and box_cols.max() > text_cols.max()
    assert (
        colour_mask(
            render(tmp_path, ass_script(caption(), caption_style({}), WIDTH, HEIGHT), 0.2), BLUE
        ).sum()
        == 0
    )


@pytest.mark.parametrize("alignment", range(1, 10))
def test_position_puts_the_text_in_its_ninth_of_the_frame(tmp_path: Path, alignment: int) -> None:
    style = caption_style({"position": {"alignment": alignment, "marginVertical": 10}})
    frame = ink(render(tmp_path, ass_script(caption(WORDS[:2]), style, WIDTH, HEIGHT), 0.2))
    rows, columns = np.nonzero(frame)
    row = int(rows.mean() * 3 // HEIGHT)
    column = int(columns.mean() * 3 // WIDTH)
    expected_row = {1: 2, 2: 2, 3: 2, 4: 1, 5: 1, 6: 1, 7: 0, 8: 0, 9: 0}[alignment]
    assert (row, column) == (expected_row, (alignment - 1) % 3)


@pytest.mark.parametrize("alignment", [2, 8])
def test_on_vertical_video_the_text_stays_in_the_safe_zone(tmp_path: Path, alignment) -> None:
    size = (270, 480)
    style = caption_style({"position": {"alignment": alignment, "marginVertical": 0}})
    frame = ink(render(tmp_path, ass_script(caption(), style, 1080, 1920), 0.2, size))
    rows = np.nonzero(frame.any(axis=1))[0]
    assert rows.min() >= 0.10 * 480 and rows.max() <= 0.80 * 480
    # The same margin on landscape video is not pushed in.
    assert play_res(1080, 1920) == (288, 512) and play_res(1920, 1080) == (512, 288)


def test_font_size_is_relative_to_the_frame(tmp_path: Path) -> None:
    style = caption_style({"kind": "classic"})
    small = ink(render(tmp_path, ass_script(caption(), style, 320, 180), 0.2, (320, 180)))
    large = ink(render(tmp_path, ass_script(caption(), style, 640, 360), 0.2, (640, 360)))
    assert abs(_width(large) / _width(small) - 2) < 0.1


def test_accents_render_their_own_glyphs(tmp_path: Path) -> None:
    style = caption_style({"kind": "highlight"})
    accented = ink(render(tmp_path, ass_script(caption((("ação", 0, 900),)), style, 480, 270), 0.2))
    plain = ink(render(tmp_path, ass_script(caption((("acao", 0, 900),)), style, 480, 270), 0.2))
    top = np.nonzero(plain.any(axis=1))[0].min()
    assert accented[:top].sum() > 5, "no tilde above the a"
    assert np.nonzero(accented.any(axis=1))[0].max() > np.nonzero(plain.any(axis=1))[0].max(), (
        "no cedilla below the c"
    )


def test_all_caps_upper_cases_accented_words() -> None:
    script = ass_script(caption(), caption_style({"all_caps": True}), 640, 360)
    assert "UMA AÇÃO NÃO" in script


def test_presets_apply_and_each_field_overrides_its_own() -> None:
    presets = caption_presets()
    assert {"classic", "karaoke", "shorts", "pop", "lower_third"} <= set(presets)
    for name in presets:
        caption_style({"preset": name}, presets)
    shorts = caption_style({"preset": "shorts", "colors": {"highlight": "#123456"}}, presets)
    assert shorts.box and shorts.all_caps and shorts.highlight == "#123456"
    assert shorts.primary == presets["shorts"]["colors"]["primary"].upper()
    assert not caption_style({"preset": "shorts", "box": {"enabled": False}}, presets).box
    with pytest.raises(InputError) as caught:
        caption_style({"preset": "nope"}, presets)
    assert caught.value.field == "style.preset"


def _width(mask: np.ndarray) -> int:
    columns = np.nonzero(mask.any(axis=0))[0]
    return int(columns.max() - columns.min())


def _seconds(ass_time: str) -> float:
    hours, minutes, seconds = ass_time.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _plain(text: str) -> str:
    return re.sub(r"\{[^}]*\}", "", text)


def test_classic_keeps_srt_cues_whole_but_pages_measured_speech() -> None:
    srt = "1\n00:00:00,000 --> 00:00:04,000\numa frase bem longa que passa de trinta\ne dois\n"
    cue = pages(from_subtitles(parse_subtitles(srt.encode(), "url_srt")), caption_style({}))
    assert [[w.text for w in line] for line in cue[0].lines] == [
        ["uma", "frase", "bem", "longa", "que", "passa", "de", "trinta"],
        ["e", "dois"],
    ]
    speech = [(f"palavra{i}", i * 300, i * 300 + 250) for i in range(12)]
    for page in pages(caption(speech), caption_style({})):
        assert len(page.lines) <= 2
        assert all(len(" ".join(w.text for w in line)) <= 32 for line in page.lines)


@pytest.mark.parametrize("kind", ["classic", "karaoke", "highlight", "word_by_word", "pop"])
def test_overlapping_srt_cues_give_pages_that_never_overlap(kind: str) -> None:
    srt = (
        "1\n00:00:00,000 --> 00:00:03,000\num dois três\n\n"
        "2\n00:00:01,000 --> 00:00:04,000\nquatro\n"
    )
    caption_words = from_subtitles(parse_subtitles(srt.encode(), "url_srt"))
    script = ass_script(caption_words, caption_style({"kind": kind}), 640, 360)
    spans = [
        (_seconds(fields[1]), _seconds(fields[2]))
        for line in script.splitlines()
        if line.startswith("Dialogue:") and (fields := line.split(",", 9))
    ]
    assert spans == sorted(spans)
    assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans))
