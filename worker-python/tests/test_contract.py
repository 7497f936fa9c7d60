import json
import math
from pathlib import Path

import pytest

from api_gpu_worker import contract
from api_gpu_worker.contract import ContractError, validate_job

CONTRACT_DIR = Path(__file__).resolve().parents[2] / "libs" / "common" / "contract"
FIXTURES = sorted((CONTRACT_DIR / "fixtures").glob("*.json"))
SCHEMA = json.loads((CONTRACT_DIR / "job-contract.schema.json").read_text(encoding="utf-8"))
MAX_IMAGES = SCHEMA["definitions"]["Img2VidJobInput"]["properties"]["images"]["maxItems"]


def _load(path: Path) -> dict:
    fixture = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(fixture["description"], str)
    assert isinstance(fixture["operation"], str)
    assert "input" in fixture
    if fixture["valid"]:
        assert "field" not in fixture
    else:
        assert fixture["valid"] is False
        assert isinstance(fixture["field"], str)
    return fixture


def _image(n: int) -> dict:
    return {"id": f"img-{n}", "image_url": f"https://example.com/{n}.jpg", "duracao": 1}


def _fields(error: ContractError) -> list[str]:
    return [field for field, _ in error.errors]


@pytest.fixture(autouse=True)
def _repository_schema(monkeypatch):
    monkeypatch.delenv(contract.SCHEMA_ENV, raising=False)


def test_there_are_at_least_40_fixtures_10_of_them_valid():
    fixtures = [_load(path) for path in FIXTURES]
    assert len(fixtures) >= 40
    assert sum(fixture["valid"] for fixture in fixtures) >= 10


@pytest.mark.parametrize("path", FIXTURES, ids=[path.name for path in FIXTURES])
def test_fixture(path):
    fixture = _load(path)
    job = {"operation": fixture["operation"], **fixture["input"]}
    if fixture["valid"]:
        assert validate_job(job) == (fixture["operation"], fixture["input"])
        return
    with pytest.raises(ContractError) as raised:
        validate_job(job)
    assert _fields(raised.value) == [fixture["field"]]
    assert raised.value.field == fixture["field"]
    assert fixture["field"] in raised.value.message


def test_reads_the_schema_the_typescript_side_generates():
    assert contract.schema_path().resolve() == CONTRACT_DIR / "job-contract.schema.json"
    schema = json.loads(contract.schema_path().read_text(encoding="utf-8"))
    assert schema["$id"] == "urn:api-gpu:job-contract"
    assert set(schema["operations"]) == {
        "caption", "img2vid", "addaudio", "transcribe", "concatenate",
        "concat_video_audio", "trilhasonora", "audio_trilhasonora",
        "audio_concatenate", "compose",
    }  # fmt: skip


def test_schema_file_can_be_moved_with_the_environment(monkeypatch, tmp_path):
    only_caption = {**SCHEMA, "operations": {"caption": SCHEMA["operations"]["caption"]}}
    moved = tmp_path / "job-contract.schema.json"
    moved.write_text(json.dumps(only_caption), encoding="utf-8")
    monkeypatch.setenv(contract.SCHEMA_ENV, str(moved))
    transcribe = {"operation": "transcribe", "audio_url": "https://example.com/a.mp3", "path": "t/"}
    with pytest.raises(ContractError) as raised:
        validate_job(transcribe)
    assert raised.value.field == "operation"


def test_accepts_the_most_images_a_job_may_carry_and_refuses_one_more_on_images_itself():
    images = [_image(n) for n in range(1, MAX_IMAGES + 2)]
    job = {"operation": "img2vid", "path": "Project/videos/temp/"}
    assert validate_job({**job, "images": images[:-1]})[0] == "img2vid"
    with pytest.raises(ContractError) as raised:
        validate_job({**job, "images": images})
    assert _fields(raised.value) == ["images"]


def test_refuses_nan_which_json_schema_bounds_let_through():
    job = {"operation": "img2vid", "images": [_image(1)], "path": "p/"}
    job["images"][0]["duracao"] = math.nan
    with pytest.raises(ContractError) as raised:
        validate_job(job)
    assert _fields(raised.value) == ["images[0].duracao"]


@pytest.mark.parametrize("job", [{}, {"operation": 5}, {"operation": None, "path": "p/"}])
def test_a_missing_or_non_string_operation_is_an_error_on_operation(job):
    with pytest.raises(ContractError) as raised:
        validate_job(job)
    assert raised.value.field == "operation"


def test_a_job_that_is_not_an_object_is_an_error_on_the_job_itself():
    with pytest.raises(ContractError) as raised:
        validate_job(["caption"])  # type: ignore[arg-type]
    assert raised.value.field == ""


def test_reports_every_offending_field_naming_it_and_not_its_value():
    job = {
        "operation": "img2vid",
        "images": [{**_image(1), "image_url": "ftp://user:hunter2@example.com/1.jpg"}, _image(2)],
        "path": "../up/",
        "extra": True,
    }
    with pytest.raises(ContractError) as raised:
        validate_job(job)
    assert sorted(_fields(raised.value)) == ["extra", "images[0].image_url", "path"]
    for field, message in raised.value.errors:
        assert message.startswith(field)
        assert "hunter2" not in message


def test_a_pattern_mismatch_is_worded_as_the_typescript_side_words_it():
    job = {
        "operation": "caption",
        "url_video": "http://media.test/v.mp4",
        "url_srt": "http://media.test/s.srt",
        "path": "../escape/",
        "output_filename": "out.mp4",
    }
    with pytest.raises(ContractError) as raised:
        validate_job(job)
    assert raised.value.field == "path"
    assert "pattern" not in raised.value.message
    assert "^" not in raised.value.message


def test_the_languages_the_contract_accepts_are_the_ones_whisper_knows():
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    schema = json.loads(contract.schema_path().read_text(encoding="utf-8"))
    language = schema["definitions"]["TranscribeJobInput"]["properties"]["language"]
    assert sorted(language["enum"]) == sorted(_LANGUAGE_CODES)
