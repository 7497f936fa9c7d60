"""Caption styles: validation naming the field, the generated ASS style, numpad alignment, escaping.

Rendering tests draw one real frame with FFmpeg's subtitles filter (libass) and look at its pixels.
"""

import subprocess
from pathlib import Path

import numpy as np
import pytest

from api_gpu_worker.caption_ass import ass_script
from api_gpu_worker.caption_style import (
    CaptionStyle,
    ass_colour,
    caption_style,
    filter_value,
)
from api_gpu_worker.caption_words import from_subtitles
from api_gpu_worker.errors import InputError
from api_gpu_worker.fonts import ass_style_fonts, resolve_font, resolve_fonts
from api_gpu_worker.operations.caption import subtitles_filter
from api_gpu_worker.subtitles import parse_subtitles

WIDTH, HEIGHT = 480, 270


def render(
    directory: Path, text: str, style: dict | None = None, *, name: str = "subs.srt"
) -> np.ndarray:
    """One RGB frame of a black video with ``text`` burnt in, as (rows, columns, 3)."""
    srt = f"1\n00:00:00,000 --> 00:00:05,000\n{text}\n"
    if style is not None:
        words = from_subtitles(parse_subtitles(srt.encode(), "url_srt"))
        srt = ass_script(words, caption_style(style), WIDTH, HEIGHT)
        name = "subs.ass"
    (directory / name).write_text(srt, encoding="utf-8")
    frame = subprocess.run(
        [
            "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "lavfi", "-i", f"color=black:s={WIDTH}x{HEIGHT}:d=1",
            "-vf", subtitles_filter(name),
            "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ],
        cwd=directory,
        capture_output=True,
        check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(frame, np.uint8).reshape(HEIGHT, WIDTH, 3)


def ink_box(frame: np.ndarray, threshold: int = 100) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the bright pixels."""
    rows, columns = np.nonzero(frame.max(axis=2) > threshold)
    assert rows.size, "nothing was drawn"
    return int(rows.min()), int(rows.max()), int(columns.min()), int(columns.max())


def test_defaults_are_the_documented_ones() -> None:
    assert caption_style({}) == CaptionStyle()
    assert style_line(CaptionStyle()) == (
        "Style: Caption,DejaVu Sans,24,&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
        "-1,0,0,0,100,100,0,0,1,2,1,2,10,10,25,1"
    )


def style_line(style: CaptionStyle) -> str:
    words = from_subtitles(parse_subtitles(b"1\n00:00:00,000 --> 00:00:01,000\nx\n", "url_srt"))
    script = ass_script(words, style, 1920, 1080)
    return next(line for line in script.splitlines() if line.startswith("Style:"))


def test_given_values_override_the_defaults() -> None:
    style = caption_style(
        {
            "font": {"name": "Liberation Sans", "size": 40, "italic": True},
            "colors": {"primary": "#ff8000", "primaryAlpha": 16},
            "border": {"style": 3, "width": 1.5},
            "position": {"marginVertical": 60},
        }
    )
    values = style_line(style).removeprefix("Style: ").split(",")
    assert values[1:5] == ["Liberation Sans", "40", "&H100080FF", "&H100080FF"]
    assert values[7:9] == ["-1", "-1"]
    assert (values[15], values[16], values[21]) == ("3", "1.5", "60")


def test_ass_colour_is_alpha_blue_green_red() -> None:
    assert ass_colour("#112233", 0) == "&H00332211"
    assert ass_colour("#abcdef", 255) == "&HFFEFCDAB"


@pytest.mark.parametrize(
    ("style", "field"),
    [
        ({"font": {"size": 7}}, "style.font.size"),
        ({"font": {"size": 20.5}}, "style.font.size"),
        ({"font": {"bold": "yes"}}, "style.font.bold"),
        ({"font": {"name": "Sans,Alignment=1"}}, "style.font.name"),
        ({"font": {"name": "x'\\:[out];"}}, "style.font.name"),
        ({"colors": {"primary": "#FFF"}}, "style.colors.primary"),
        ({"colors": {"outlineAlpha": 256}}, "style.colors.outlineAlpha"),
        ({"border": {"style": 2}}, "style.border.style"),
        ({"border": {"shadow": True}}, "style.border.shadow"),
        ({"position": {"alignment": 0}}, "style.position.alignment"),
        ({"position": {"marginLeft": 201}}, "style.position.marginLeft"),
        ({"position": {"angle": 3}}, "style.position.angle"),
        ({"shape": {}}, "style.shape"),
        ({"font": "DejaVu Sans"}, "style.font"),
    ],
)
def test_invalid_values_name_their_field(style: dict, field: str) -> None:
    with pytest.raises(InputError) as caught:
        caption_style(style)
    assert caught.value.field == field
    assert caught.value.message.startswith(field)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("dejavu sans", "DejaVu Sans"),
        ("Arial", "Liberation Sans"),
        ("Helvetica", "Liberation Sans"),
        ("Times New Roman", "Liberation Serif"),
        ("Courier New", "Liberation Mono"),
        ("Roboto", "Roboto"),
        ("Open Sans", "Open Sans"),
        ("Lato", "Lato"),
        ("Noto Sans", "Noto Sans"),
    ],
)
def test_a_font_resolves_through_fontconfig_as_libass_does(name: str, family: str) -> None:
    assert resolve_font(name, "style.font.name") == family


def test_a_font_with_no_installed_family_standing_in_is_refused_with_the_installed_ones() -> None:
    with pytest.raises(InputError) as caught:
        resolve_font("Comic Sans MS", "style.font.name")
    assert caught.value.field == "style.font.name"
    assert "'Comic Sans MS' is not installed" in caught.value.message
    assert "DejaVu Sans" in caught.value.message and "Liberation Sans" in caught.value.message


def test_the_fontnames_of_an_ass_file_are_read_from_its_styles() -> None:
    ass = (
        "[Script Info]\nScriptType: v4.00+\n\n[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour\n"
        "Style: Default,Arial,48,&H00FFFFFF\nStyle: Top, Times New Roman ,40,&H00FFFFFF\n\n"
        "[Events]\nFormat: Layer, Start, End, Style, Text\n"
    )
    assert ass_style_fonts(ass) == ["Arial", "Times New Roman"]
    assert resolve_fonts(ass_style_fonts(ass), "url_srt") == ["Liberation Sans", "Liberation Serif"]


@pytest.mark.parametrize("numpad", range(1, 10))
def test_alignment_is_numpad(tmp_path: Path, numpad: int) -> None:
    frame = render(tmp_path, "Olá", {"position": {"alignment": numpad, "marginVertical": 10}})
    top, bottom, left, right = ink_box(frame)
    row_band = {7: 0, 8: 0, 9: 0, 4: 1, 5: 1, 6: 1, 1: 2, 2: 2, 3: 2}[numpad]
    column_band = (numpad - 1) % 3
    assert int((top + bottom) / 2 / (HEIGHT / 3)) == row_band, (top, bottom)
    assert int((left + right) / 2 / (WIDTH / 3)) == column_band, (left, right)


def test_alignment_8_puts_the_text_at_the_top_centre(tmp_path: Path) -> None:
    top_centre = ink_box(render(tmp_path, "Topo", {"position": {"alignment": 8}}))
    bottom_centre = ink_box(render(tmp_path, "Topo", {}))
    assert top_centre[1] < HEIGHT / 3
    assert bottom_centre[0] > HEIGHT * 2 / 3
    centre = WIDTH / 2
    assert abs((top_centre[2] + top_centre[3]) / 2 - centre) < WIDTH * 0.05


def test_primary_colour_and_size_reach_the_frame(tmp_path: Path) -> None:
    red = render(tmp_path, "Vermelho", {"colors": {"primary": "#FF0000"}, "font": {"size": 30}})
    small = render(tmp_path, "Vermelho", {"colors": {"primary": "#FF0000"}, "font": {"size": 12}})
    text = (red[..., 0] > 200) & (red[..., 1] < 60) & (red[..., 2] < 60)
    assert text.sum() > 200
    assert ink_box(red)[1] - ink_box(red)[0] > 1.8 * (ink_box(small)[1] - ink_box(small)[0])


def glyph_problems(plain: np.ndarray, candidate: np.ndarray) -> list[str]:
    """How ``candidate`` (an accented line) fails to be ``plain`` (the same line unaccented)
    with diacritics added: same columns, marks above the x-height and below the baseline only.
    """
    problems = []
    p_top, p_bottom, p_left, p_right = ink_box(plain)
    c_top, _, c_left, c_right = ink_box(candidate)
    if abs(c_left - p_left) > 2 or abs(c_right - p_right) > 2:
        problems.append("different width")
    if c_top >= p_top - 4:
        problems.append("no marks above the x-height")
    plain_ink = plain.max(axis=2) > 100
    candidate_ink = candidate.max(axis=2) > 100
    if candidate_ink[p_bottom - 2 :].sum() - plain_ink[p_bottom - 2 :].sum() <= 10:
        problems.append("no cedilla below the baseline")
    extra = candidate_ink & ~plain_ink
    if extra[p_top + 3 : p_bottom - 3].sum() >= 0.1 * max(1, extra.sum()):
        problems.append("letters changed shape inside the x-height band")
    return problems


def test_accented_portuguese_renders_glyphs_not_boxes(tmp_path: Path) -> None:
    style = {"font": {"size": 36}}
    plain = render(tmp_path, "acao, nao, voce", style)
    accented = render(tmp_path, "ação, não, você", style)
    # Code points no installed font has: libass draws its missing-glyph boxes for them.
    boxes = render(tmp_path, "a\U000f0000\U000f0000o, n\U000f0000o, voc\U000f0000", style)
    assert glyph_problems(plain, accented) == []
    assert glyph_problems(plain, boxes) != []


def test_filter_values_survive_quotes_colons_commas_semicolons_and_brackets(
    tmp_path: Path,
) -> None:
    name = "leg'enda: a,b;[c]\\d.srt"
    assert filter_value("a'b:c,d") == "a\\\\\\'b\\\\:c\\,d"
    frame = render(tmp_path, "Olá", name=name)
    _, bottom, _, _ = ink_box(frame)
    assert bottom > HEIGHT / 2
