"""Schemathesis checks of the REST contract, loaded by scripts/fuzz-api.sh (SCHEMATHESIS_HOOKS)."""

import json

import schemathesis


@schemathesis.check
def contract_error_shape(ctx, response, case):
    """Every 4xx answer is the contract's JSON error body: {"error": str, "message": str}.

    Under /v1/ (the OpenAI-compatible routes) it is OpenAI's envelope instead:
    {"error": {"message": str, "type": str, "param", "code"}}.
    """
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(
            f"{response.status_code} answer is not JSON: {response.content[:200]!r}"
        ) from error
    if case.path.startswith("/v1/"):
        detail = body.get("error") if isinstance(body, dict) else None
        if not (
            isinstance(detail, dict)
            and isinstance(detail.get("message"), str)
            and isinstance(detail.get("type"), str)
            and {"param", "code"} <= detail.keys()
        ):
            raise AssertionError(
                f"{response.status_code} answer is not OpenAI's error envelope: {body!r:.300}"
            )
        return None
    if not (
        isinstance(body, dict)
        and isinstance(body.get("error"), str)
        and isinstance(body.get("message"), str)
    ):
        raise AssertionError(
            f'{response.status_code} answer is not {{"error", "message"}}: {body!r:.300}'
        )
    return None
