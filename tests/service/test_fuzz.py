"""HTTP API fuzzing from the OpenAPI schema (schemathesis 4, in process through the ASGI
transport: no network).

Every operation of the schema gets schema-conforming (positive) and schema-violating
(negative) requests, with the API key, on a copy of the tiny test library. Whatever is sent,
the service must answer below 500, and every 4xx must be in the project's JSON error shape
(``{"error": {"status", "problem", "fix"}}``). Deterministic and bounded: derandomized
Hypothesis (the examples depend only on the schema), no example database, a small
:data:`MAX_EXAMPLES` per operation and mode.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

from factories.service import API_KEY, build_library  # noqa: E402
from scicmr.service import Settings, create_app  # noqa: E402

import os
MAX_EXAMPLES = int(os.environ.get("SCICMR_FUZZ_EXAMPLES", "12"))
MODES = ("positive", "negative")


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation in the schema; the app's schema needs no library."""
    schema = create_app(Settings(library="unused")).openapi()
    return [(method.upper(), path) for path, item in sorted(schema["paths"].items()) for method in sorted(item)]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(schema, real record ids, real library file paths) of a served copy of the test
    library in which one record's figure comes from a PDF page, so page renders are fuzzed too."""
    from scicmr.corpus.library import Library
    from scicmr.corpus.record import Source
    from scicmr.service.app import load_state

    library = build_library(tmp_path_factory.mktemp("service-fuzz"))
    _tall_pdf(library / "pdfs" / "paper.pdf")
    lib = Library.open(library)
    record = lib.get("climate-1")
    record.source = Source(file="pdfs/paper.pdf", page=1, bbox=(10.0, 100.0, 100.0, 200.0))
    lib.add_records([record], replace=True)
    ids = sorted(lib.ids())
    files = sorted(p.relative_to(library).as_posix() for p in (library / "images").rglob("*.png"))[:10]
    settings_ = Settings(library=library, api_key=API_KEY)
    app = create_app(settings_)
    app.state.scicmr = load_state(settings_)  # what the lifespan does; the ASGI client does not run it
    yield schemathesis.openapi.from_asgi("/openapi.json", app), ids, files + ["pdfs/paper.pdf"]
    app.state.scicmr = None


def _tall_pdf(path) -> None:
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=(200, 14400))
    c.rect(10, 10, 100, 7000)
    c.showPage()
    c.save()


def _operation(schema, method: str, path: str):
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == method and operation.path == path:
            return operation
    raise LookupError(f"{method} {path} is not in the schema")


def _assert_error_shape(response, where: str) -> None:
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(f"{where}: {response.status_code} without a JSON body: {response.text[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict), f"{where}: {response.status_code} body is not the error shape: {body!r}"
    assert error.get("status") == response.status_code, f"{where}: status in body {error.get('status')!r}"
    assert isinstance(error.get("problem"), str) and error["problem"], f"{where}: no problem in {body!r}"
    assert error.get("fix") is None or isinstance(error["fix"], str), f"{where}: fix {error.get('fix')!r}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("method", "path"), _operations(), ids=lambda v: v)
def test_no_operation_answers_5xx_and_errors_have_the_json_shape(served, method, path, mode):
    from hypothesis import strategies as st
    from schemathesis.generation.modes import GenerationMode

    schema, record_ids, files = served
    operation = _operation(schema, method, path)
    cases = operation.as_strategy(GenerationMode(mode))
    # Random strings almost never name a record or a file: mix in the real ones, so the
    # handlers behind the 404 (record details, figures, thumbnails, page renders, deletes) run.
    known = {"record_id": record_ids, "path": files}
    for name, values in known.items():
        if "{" + name + "}" in path and mode == "positive":
            cases = st.one_of(cases, st.sampled_from(values).flatmap(
                lambda value, name=name: operation.as_strategy(GenerationMode(mode), path_parameters={name: value})))

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call(headers={"X-API-Key": API_KEY})
        where = f"{method} {path} ({mode}): {case.as_curl_command()[:300]}"
        assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
        if response.status_code >= 400:
            _assert_error_shape(response, where)

    try:
        run()
    except Unsatisfiable:
        # Only operations whose parameters all accept any string (or that have none) get
        # here: no request violates their schema, so the negative mode has nothing to send.
        assert mode == "negative", f"{method} {path}: no positive example could be generated"
        pytest.skip(f"{method} {path}: every request fits its schema; nothing negative to send")
