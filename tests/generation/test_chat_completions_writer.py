"""The language-model writer against a chat-completions server on loopback: it writes each
message, waits out a 429's Retry-After, gives up on a stalled or malformed answer with a
clear error, never stores the key, and its output meets the same validators."""

import time

import pytest

from apps.core.errors import ServiceError
from apps.core.models import Finding, Message
from apps.generation.rendering import compile_templates
from apps.generation.writers import check_writer_settings, make_writer
from apps.generation.writers.base import WriterError
from apps.generation.writers.chat_completions import ChatCompletionsWriter
from tests.generation.chat_server import ChatServer


@pytest.fixture
def chat_server():
    with ChatServer() as server:
        yield server


class Templates:
    subject_template = "For {{ company }}"
    body_template = "Hi {{ first_name }} at {{ company }}"


def writer(server, **extra):
    settings = {"url": server.url, "model": "local-model", "timeout_seconds": 2, **extra}
    return make_writer("chat_completions", settings, templates=compile_templates(Templates))


CONTEXT = {"first_name": "Peter", "company": "Initech", "custom": {"plan": "gold"}}


def test_writes_from_the_draft_with_the_key_from_the_environment(chat_server, monkeypatch):
    monkeypatch.setenv("OUTBOUND_TEST_LLM_KEY", "sk-test-123")
    subject, body = writer(chat_server, api_key_env="OUTBOUND_TEST_LLM_KEY").write(CONTEXT)
    assert (subject, body) == ("[model] For Initech", "[model] Hi Peter at Initech")
    request = chat_server.requests[0]
    assert request["headers"]["Authorization"] == "Bearer sk-test-123"
    assert request["json"]["model"] == "local-model"
    assert request["path"] == "/v1/chat/completions"


def test_429_waits_for_retry_after_then_succeeds(chat_server):
    chat_server.script = [("status", 429, {"Retry-After": "1"})]
    started = time.monotonic()
    subject, _ = writer(chat_server).write(CONTEXT)
    assert subject == "[model] For Initech"
    assert len(chat_server.requests) == 2
    assert chat_server.requests[1]["at"] - chat_server.requests[0]["at"] >= 0.9
    assert time.monotonic() - started < 5


def test_429_asking_too_long_a_wait_fails_clearly(chat_server):
    chat_server.script = [("status", 429, {"Retry-After": "3600"})]
    with pytest.raises(WriterError, match="HTTP 429.*wait 3600 s"):
        writer(chat_server, max_retry_after_seconds=5).write(CONTEXT)
    assert len(chat_server.requests) == 1


def test_a_stalled_server_times_out_after_the_attempts(chat_server):
    chat_server.script = [("sleep", 3), ("sleep", 3)]
    started = time.monotonic()
    with pytest.raises(WriterError, match="failed 2 times; last: no answer within 1 s"):
        writer(chat_server, timeout_seconds=1, max_attempts=2).write(CONTEXT)
    assert len(chat_server.requests) == 2
    assert time.monotonic() - started < 6


@pytest.mark.parametrize(
    "step, says",
    [
        (("raw", b"{not json"), "malformed JSON"),
        (("raw", b'{"choices": []}'), "not a chat completion"),
        (("content", "Sure! Here is your e-mail: Hi Peter"), "did not answer with"),
        (("content", '{"subject": "x", "body": ""}'), "non-empty"),
        (("status", 401), "HTTP 401"),
    ],
)
def test_a_bad_answer_is_a_clear_error(chat_server, step, says):
    chat_server.script = [step]
    with pytest.raises(WriterError, match=says):
        writer(chat_server, max_attempts=1).write(CONTEXT)


def test_a_code_fenced_json_answer_is_accepted(chat_server):
    chat_server.script = [("content", '```json\n{"subject": "S", "body": "B"}\n```')]
    assert writer(chat_server).write(CONTEXT) == ("S", "B")


def test_settings_never_hold_a_key():
    problems = check_writer_settings("chat_completions", {
        "url": "http://127.0.0.1:1/v1/chat/completions", "model": "m", "api_key": "sk-secret",
    })
    assert any("never store a key" in p for p in problems)
    assert check_writer_settings("chat_completions", {"url": "ftp://x", "model": ""}) == [
        "url must be the endpoint's http:// or https:// address (…/v1/chat/completions).",
        "model is required.",
    ]
    assert check_writer_settings("nope", {}) == [
        "There is no writer named 'nope' (known: template, chat_completions)."
    ]


def test_a_missing_key_variable_is_refused(chat_server, monkeypatch):
    monkeypatch.delenv("OUTBOUND_TEST_LLM_KEY", raising=False)
    with pytest.raises(ServiceError, match="OUTBOUND_TEST_LLM_KEY .* is not set"):
        writer(chat_server, api_key_env="OUTBOUND_TEST_LLM_KEY")
    shown = ChatCompletionsWriter.public_settings({"api_key_env": "OUTBOUND_TEST_LLM_KEY"})
    assert shown == {"api_key_env": "OUTBOUND_TEST_LLM_KEY (NOT set here)"}


@pytest.mark.django_db
def test_model_output_meets_the_same_validators(
    chat_server, acme_client, oscar, dns_server, django_capture_on_commit_callbacks
):
    """The model leaves "Initech Inc." in the text: the legal-form check flags it exactly as it
    would in a template's output."""
    from apps.core.models import Prospect
    from apps.generation.models import GenerationChunk, WriterConfig
    from apps.generation.services import batch_start
    from apps.pipeline.jobs import generate_chunk_job, validate_chunk_job
    from tests.conftest import make_campaign

    campaign = make_campaign(acme_client, body_template="Hi {{ company }} team")
    WriterConfig.objects.create(campaign=campaign, writer="chat_completions",
                                settings={"url": chat_server.url, "model": "m"})
    prospect = Prospect.objects.create(client=acme_client, email="peter@initech.com",
                                       first_name="Peter", company="Initech Inc.")
    with django_capture_on_commit_callbacks(execute=False):
        batch = batch_start(campaign=campaign, prospects=[prospect], actor=oscar)
    chunk_id = GenerationChunk.objects.get(batch=batch).pk
    generate_chunk_job(chunk_id)
    validate_chunk_job(chunk_id)

    message = Message.objects.get(batch=batch)
    assert message.body == "[model] Hi Initech Inc. team"
    finding = Finding.objects.get(message=message)
    assert (finding.rule_code, finding.severity) == ("legal_form", "block")
    assert batch.generation.writer == "chat_completions"


def test_requests_run_a_few_at_once_in_order(chat_server):
    chat_server.script = [("sleep", 0.6)] * 4
    contexts = [{**CONTEXT, "first_name": f"P{i}"} for i in range(4)]
    started = time.monotonic()
    written = writer(chat_server, concurrency=4).write_many(contexts)
    assert time.monotonic() - started < 1.8  # not 4 x 0.6 s one after another
    assert [body for _, body in written] == [f"[model] Hi P{i} at Initech" for i in range(4)]


@pytest.mark.django_db
def test_a_slow_writer_gets_small_chunks(
    chat_server, acme_client, oscar, django_capture_on_commit_callbacks
):
    from apps.generation.models import GenerationChunk, WriterConfig
    from apps.generation.services import batch_start
    from tests.conftest import make_campaign
    from tests.generation.conftest import make_prospects

    campaign = make_campaign(acme_client)
    WriterConfig.objects.create(campaign=campaign, writer="chat_completions",
                                settings={"url": chat_server.url, "model": "m", "chunk_size": 2})
    with django_capture_on_commit_callbacks(execute=False):
        batch = batch_start(
            campaign=campaign, prospects=make_prospects(acme_client, 5), actor=oscar
        )
    sizes = list(
        GenerationChunk.objects.filter(batch=batch).order_by("index").values_list("size", flat=True)
    )
    assert sizes == [2, 2, 1]
