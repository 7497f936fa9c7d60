"""Object keys the worker writes: refused itself when a server might normalise them elsewhere."""

import pytest

from api_gpu_worker.errors import InputError
from api_gpu_worker.storage import object_key


def test_keys_join_path_and_file_name():
    assert object_key("Projeto Ação/vídeos", "final.mp4") == "Projeto Ação/vídeos/final.mp4"
    assert object_key("a/b/", "c.mp4") == "a/b/c.mp4"
    assert object_key("", "c.mp4") == "c.mp4"
    assert object_key("v1.2/..x/", "c.mp4") == "v1.2/..x/c.mp4"


@pytest.mark.parametrize(
    ("path", "filename", "field"),
    [
        ("/etc/", "c.mp4", "path"),
        ("a/../b/", "c.mp4", "path"),
        ("a/./b/", "c.mp4", "path"),
        ("..", "c.mp4", "path"),
        ("a/", "..", "output_filename"),
        ("a/", ".", "output_filename"),
    ],
)
def test_a_leading_slash_or_a_dot_segment_is_refused_naming_the_field(path, filename, field):
    with pytest.raises(InputError) as raised:
        object_key(path, filename)
    assert raised.value.field == field
    assert raised.value.message.startswith(f"{field}:")
