"""OpenAI's Python client against the service: each case's outcome as one JSON document on stdout.

Run by openai.e2e-spec.ts as `python openai_python_client.py BASE_URL KEY SPEECH_WAV FALA_WAV`.
"""

import json
import sys

import openai


def main() -> None:
    base_url, key, speech, fala = sys.argv[1:5]
    client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=0)
    outcome: dict[str, object] = {}
    with open(speech, "rb") as audio:
        outcome["json"] = client.audio.transcriptions.create(
            model="whisper-1", file=audio, language="en"
        ).text
    with open(speech, "rb") as audio:
        outcome["srt"] = client.audio.transcriptions.create(
            model="whisper-1", file=audio, response_format="srt"
        )
    with open(speech, "rb") as audio:
        verbose = client.audio.transcriptions.create(
            model="tiny.en",
            file=audio,
            response_format="verbose_json",
            timestamp_granularities=["word"],
        )
        outcome["verbose_json"] = verbose.model_dump()
    with open(fala, "rb") as audio:
        outcome["translation"] = client.audio.translations.create(
            model="whisper-1", file=audio, prompt="Good morning."
        ).text
    with open(speech, "rb") as audio:
        try:
            client.audio.transcriptions.create(model="whisper-1", file=audio, temperature=3)
        except openai.BadRequestError as error:
            outcome["bad_field"] = {"status": error.status_code, "body": error.body}
    wrong = openai.OpenAI(base_url=base_url, api_key="not-a-key", max_retries=0)
    with open(speech, "rb") as audio:
        try:
            wrong.audio.transcriptions.create(model="whisper-1", file=audio)
        except openai.AuthenticationError as error:
            outcome["missing_key"] = {"status": error.status_code, "body": error.body}
    outcome["models"] = [model.id for model in client.models.list()]
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
