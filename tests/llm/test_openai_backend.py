"""The engine behind a real OpenAI-compatible server (llama-cpp-python's, on SmolLM2): capabilities,
streaming, JSON schemas, logprobs, and what happens when the server is busy, gone or limited.
Misbehaviour comes from a tiny real proxy in front of the real server (tests/inference_server.py)."""

import math
import socket

import pytest

from llm import engine
from llm.model_files import ModelFileError
from llm.openai_backend import MISSING_SHARE, InferenceServerError, OpenAIChatBackend, next_piece, option_shares
from llm.services.common import LLMOutputError
from llm.services.generate import generate_json, generate_stream
from tests.conftest import use_openai_backend
from tests.inference_server import SERVED_NAME, MisbehavingProxy, start_test_server

pytestmark = pytest.mark.slow
PROXY_PORT, SPARE_SERVER_PORT, DEAD_PORT = 8173, 8174, 8175
STORY = [{"role": "user", "content": "Write a long story about a tent in the mountains."}]
COLOUR = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "green"]}}, "required": ["colour"]}


@pytest.fixture
def on_server(openai_server, settings, monkeypatch):
    use_openai_backend(settings, monkeypatch, openai_server.base_url)
    return openai_server


@pytest.mark.django_db
def test_the_server_is_asked_what_it_supports_and_healthz_says_what_is_used(on_server, admin_client):
    caps = engine.generator(SERVED_NAME).backend.capabilities()

    assert caps["server"] == "llama-cpp-python server" and caps["served_models"] == [SERVED_NAME]
    assert caps["logprobs"] is True
    assert caps["json_schema"] == "json_object"  # its own form: OpenAI's json_schema form is refused (422)
    line = admin_client.get("/healthz").json()["checks"]["llm"]  # the details are for staff
    assert line["ok"] is True, line and line["backend"] == "openai" and line["json_schema"] == "json_object"
    assert "JSON schema by json_object" in line["uses"] and on_server.base_url in line["uses"]


def test_the_server_writes_what_the_in_process_model_writes(on_server, settings, monkeypatch):
    prompt = [{"role": "user", "content": "Name three things to pack for a rainy hike."}]
    over_http = "".join(generate_stream(messages=prompt, max_tokens=40, model=SERVED_NAME))
    settings.LLM_BACKEND = "local"
    monkeypatch.setattr(engine, "_generators", {})

    in_process = "".join(generate_stream(messages=prompt, max_tokens=40, model=SERVED_NAME))

    assert over_http == in_process and len(over_http) > 20


def test_pieces_stream_and_max_tokens_and_stop_strings_hold(on_server):
    generator = engine.generator(SERVED_NAME)
    pieces = list(generate_stream(messages=[{"role": "user", "content": "Count from one to fifty in words."}], max_tokens=8,
                                  model=SERVED_NAME))
    assert len(pieces) >= 2 and generator.last_usage.completion_tokens <= 8

    unstopped = "".join(generate_stream(messages=[{"role": "user", "content": "Count from one to ten in words."}], max_tokens=24,
                                        model=SERVED_NAME))
    stop = unstopped.split()[2]  # a word the model writes, after its start
    stopped = "".join(generate_stream(messages=[{"role": "user", "content": "Count from one to ten in words."}], max_tokens=24,
                                      stop=[stop], model=SERVED_NAME))
    assert stopped == unstopped[: unstopped.index(stop)]


def test_a_json_schema_is_enforced_by_the_server(on_server):
    assert generate_json(messages=[{"role": "user", "content": "Pick a colour for a tent."}], json_schema=COLOUR,
                         model=SERVED_NAME)["colour"] in {"red", "green"}


def test_a_generation_past_its_time_limit_stops_with_the_partial_text(on_server):
    with pytest.raises(engine.GenerationTimeout) as caught:
        list(generate_stream(messages=STORY, max_tokens=400, time_limit=0.01, model=SERVED_NAME))

    assert caught.value.partial != ""


def test_option_probabilities_come_from_the_top_logprobs(on_server):
    generator = engine.generator(SERVED_NAME)

    question = [{"role": "user", "content": "Is the sky blue? Answer Yes or No."}]
    written = generator.complete(question, max_tokens=1).strip()

    shares = generator.option_probabilities(question, options=["Yes", "No"])

    assert len(shares) == 2 and sum(shares) == pytest.approx(1.0) and 0 < min(shares)
    assert written in {"Yes", "No"} and shares[["Yes", "No"].index(written)] > 0.5  # the option it writes is the likelier
    with pytest.raises(ValueError, match="differ"):
        generator.option_probabilities(STORY, options=["Yes", "Yes"])


def test_without_a_chat_template_here_a_server_that_cannot_continue_a_prefix_refuses_options_after_one(on_server, settings):
    settings.LLM_PROMPT_TEMPLATE = "none"
    generator = engine.generator(SERVED_NAME)

    assert generator.backend.capabilities()["completions"] is False
    with pytest.raises(InferenceServerError, match="assistant prefix"):
        generator.option_probabilities(STORY, options=["Yes", "No"], answer_prefix='{"answer": "')


def test_option_shares_take_each_options_longest_matching_token():
    top = [{"token": " bill", "logprob": -0.5}, {"token": "b", "logprob": -3.0}, {"token": "ship", "logprob": -1.5}]

    shares = option_shares(top, ["billing", "shipping", "returns"])

    assert shares[0] > shares[1] > shares[2] == 0.0 and sum(shares) == pytest.approx(1.0)
    assert option_shares([{"token": "x", "logprob": -1}], ["a", "b"]) == [0.5, 0.5]


def test_text_probabilities_walk_the_top_logprobs_where_texts_start_alike(monkeypatch):
    backend = OpenAIChatBackend(base_url="http://127.0.0.1:9", model="m")
    tops = {"": [{"token": "order", "logprob": math.log(0.6)}, {"token": " ret", "logprob": math.log(0.3)}],
            "order": [{"token": "-status", "logprob": math.log(0.75)}, {"token": "-change", "logprob": math.log(0.2)}]}
    asked = []
    monkeypatch.setattr(backend, "_top_logprobs", lambda messages, prefix: asked.append(prefix) or tops[prefix[len('{"c": "'):]])

    shares = backend.text_probabilities([], texts=["order-status", "order-change", "returns", "account"], answer_prefix='{"c": "')

    weights = [0.6 * 0.75, 0.6 * 0.2, 0.3, MISSING_SHARE]  # "account" is not among the top tokens: the floor
    assert shares == pytest.approx([w / sum(weights) for w in weights])
    assert asked == ['{"c": "', '{"c": "order'], "one request at the start, one where the two order texts part"


def test_without_the_tokenizer_a_texts_next_piece_is_the_likeliest_top_token_that_starts_it_as_written():
    top = [{"token": "com", "logprob": math.log(0.8)}, {"token": " complaint", "logprob": math.log(0.002)},
           {"token": "comp", "logprob": math.log(0.0002)}, {"token": "Order", "logprob": math.log(0.1)},
           {"token": " ret", "logprob": math.log(0.05)}]

    assert next_piece(top, "complaint") == ("com", pytest.approx(0.8))  # the likeliest, not the longest, as written
    assert next_piece(top, "returns") == ("ret", pytest.approx(0.05))  # only with its space dropped
    assert next_piece(top, "order-status") == (None, 0.0)  # case kept
    assert next_piece(top, "") == ("", 0.0)


def test_text_probabilities_over_the_server_ask_again_where_texts_part(on_server, monkeypatch):
    generator = engine.generator(SERVED_NAME)
    messages = [{"role": "system", "content": "Answer with the name of the right category only."},
                {"role": "user", "content": "Ticket: 'Where is my parcel? It was due on Monday.'\nCategories:\n"
                                            "- Order status: where an order is\n- Order changes: changing an order\n"
                                            "- Returns: sending a product back"}]
    read, asked = generator.backend._top_logprobs, []
    monkeypatch.setattr(generator.backend, "_top_logprobs", lambda m, prefix: asked.append(prefix) or read(m, prefix))

    shares = generator.text_probabilities(messages, texts=["Order status", "Order changes", "Returns"])

    assert len(shares) == 3 and sum(shares) == pytest.approx(1.0)
    assert asked == ["", "Order"], "the server's top tokens hold 'Order': it is asked again where the two names part"


CATEGORY_QUESTION = [{"role": "system", "content": "Sort support tickets. Categories: order-status, order-change, returns."},
                     {"role": "user", "content": "Ticket: 'Where is my parcel? It was due on Monday.' Reply with JSON."}]
CATEGORIES = ["order-status", "order-change", "returns"]


def test_a_server_that_cannot_continue_a_prefix_reads_what_the_in_process_model_reads(on_server, settings, monkeypatch):
    """llama-cpp-python's server answers a final assistant message anew; the prompt is then written here with
    the model's chat template (from its GGUF file) and sent whole to /v1/completions: the same shares and the
    same continuation as in-process."""
    backend = engine.generator(SERVED_NAME).backend
    caps = backend.capabilities()
    assert caps["prefill"] is False and caps["completions"] is True
    sent = []
    post = backend.post_json
    monkeypatch.setattr(backend, "post_json", lambda path, body, **kw: sent.append((path, body)) or post(path, body, **kw))

    over_http = engine.generator(SERVED_NAME).text_probabilities(CATEGORY_QUESTION, texts=CATEGORIES, answer_prefix='{"category": "')
    continued = engine.generator(SERVED_NAME).continue_text(CATEGORY_QUESTION, answer_prefix='{"category": "', max_tokens=6,
                                                            stop=['"'])
    settings.LLM_BACKEND = "local"
    monkeypatch.setattr(engine, "_generators", {})
    in_process = engine.generator(SERVED_NAME).text_probabilities(CATEGORY_QUESTION, texts=CATEGORIES, answer_prefix='{"category": "')

    assert {path for path, _ in sent} == {"/completions"}
    assert sent[0][1]["prompt"].endswith('<|im_start|>assistant\n{"category": "') and "Where is my parcel?" in sent[0][1]["prompt"]
    assert max(in_process) > 0.5 and over_http.index(max(over_http)) == in_process.index(max(in_process))
    # the same prompt, token for token: the two order texts (both among the server's top tokens) stand in the same ratio
    assert over_http[0] / over_http[1] == pytest.approx(in_process[0] / in_process[1], rel=1e-3)
    # "returns" is not among the server's top 20 tokens: it gets the floor share, the in-process model its own small one
    assert over_http[2] < 0.05 and in_process[2] < 0.05
    assert continued == engine.generator(SERVED_NAME).continue_text(CATEGORY_QUESTION, answer_prefix='{"category": "', max_tokens=6,
                                                                    stop=['"'])


def test_without_a_chat_template_here_a_prefix_is_asked_for_in_words(on_server, settings, monkeypatch):
    settings.LLM_PROMPT_TEMPLATE = "none"
    generator = engine.generator(SERVED_NAME)
    read, asked = generator.backend._top_logprobs, []
    monkeypatch.setattr(generator.backend, "_top_logprobs", lambda m, prefix: asked.append(prefix) or read(m, prefix))

    shares = generator.text_probabilities(CATEGORY_QUESTION, texts=["yes", "no"], answer_prefix='{"answer": "')

    assert len(shares) == 2 and sum(shares) == pytest.approx(1.0) and asked == ['{"answer": "']
    assert generator.backend._continuation('{"answer": "')[0]["role"] == "user"


def test_a_prompt_template_named_but_missing_is_a_clear_error(on_server, settings, tmp_path):
    settings.LLM_PROMPT_TEMPLATE = str(tmp_path / "absent.gguf")

    with pytest.raises(ModelFileError, match="LLM_PROMPT_TEMPLATE"):
        engine.generator(SERVED_NAME).backend.capabilities()


def test_a_busy_server_is_tried_again(openai_server, settings, monkeypatch):
    with MisbehavingProxy(upstream=openai_server.base_url, port=PROXY_PORT) as proxy:
        use_openai_backend(settings, monkeypatch, proxy.base_url, retries=2)
        engine.generator(SERVED_NAME).backend.capabilities()  # probe first, so the 503s hit the generation
        proxy.busy = 2

        text = "".join(generate_stream(messages=[{"role": "user", "content": "Say hello."}], max_tokens=8, model=SERVED_NAME))

    assert proxy.answered_503 == 2 and text


def test_a_server_that_stays_busy_ends_as_generation_unavailable(openai_server, settings, monkeypatch):
    with MisbehavingProxy(upstream=openai_server.base_url, port=PROXY_PORT) as proxy:
        use_openai_backend(settings, monkeypatch, proxy.base_url, retries=1)
        engine.generator(SERVED_NAME).backend.capabilities()
        proxy.busy, proxy.answered_503 = 10, 0

        with pytest.raises(engine.GenerationUnavailable, match="503"):
            list(generate_stream(messages=STORY, max_tokens=8, model=SERVED_NAME))

    assert proxy.answered_503 == 2  # the first try and one more


def test_a_server_without_json_schema_support_gets_the_schema_in_the_prompt(openai_server, settings, monkeypatch):
    with MisbehavingProxy(upstream=openai_server.base_url, port=PROXY_PORT, ignore_schema=True) as proxy:
        use_openai_backend(settings, monkeypatch, proxy.base_url)
        assert engine.generator(SERVED_NAME).backend.capabilities()["json_schema"] == "prompt"
        proxy.seen.clear()

        try:
            data = generate_json(messages=[{"role": "user", "content": "Pick a colour for a tent."}], json_schema=COLOUR,
                                 model=SERVED_NAME)
        except LLMOutputError:
            data = None  # the small model broke the schema: caught by the check, as with transformers

    sent = proxy.seen[-1]
    assert "response_format" not in sent
    assert sent["messages"][0]["role"] == "system" and '"enum": ["red", "green"]' in sent["messages"][0]["content"]
    assert data is None or data["colour"] in {"red", "green"}


def test_a_server_that_dies_mid_answer_raises_unavailable_with_the_partial_text(settings, monkeypatch):
    server = start_test_server(port=SPARE_SERVER_PORT, name="llm-server-killed")
    try:
        use_openai_backend(settings, monkeypatch, server.base_url, retries=0)
        stream = generate_stream(messages=STORY, max_tokens=400, model=SERVED_NAME)
        first = [next(stream) for _ in range(3)]
        server.process.kill()

        with pytest.raises(engine.GenerationUnavailable, match="mid-answer|before its end") as caught:
            list(stream)
    finally:
        server.stop()

    assert caught.value.partial.startswith("".join(first))


@pytest.mark.django_db
def test_an_unreachable_server_is_unavailable_and_healthz_names_it(settings, monkeypatch, admin_client):
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", DEAD_PORT)) != 0, "nothing may listen on the dead port"
    use_openai_backend(settings, monkeypatch, f"http://127.0.0.1:{DEAD_PORT}/v1", retries=1)

    with pytest.raises(engine.GenerationUnavailable, match="unreachable"):
        list(generate_stream(messages=STORY, max_tokens=8, model=SERVED_NAME))
    response = admin_client.get("/healthz")

    assert response.status_code == 503 and "llm" in response.json()["down"]
    assert "unreachable" in response.json()["checks"]["llm"]["error"]


def test_the_engine_does_not_serialise_generations_on_a_server(on_server):
    generator = engine.generator(SERVED_NAME)
    stream = generator.stream(STORY, max_tokens=20)
    next(stream)

    assert not generator._in_use.locked()  # another generation may start now: the server batches them
    stream.close()


@pytest.mark.django_db(transaction=True)  # the worker reads the test database's name from the connection
def test_an_llm_worker_on_the_server_says_in_its_log_what_it_uses(openai_server):
    from pathlib import Path

    from tests.helpers import celery_worker_start, celery_worker_stop, wait_for

    log = Path(__file__).resolve().parents[2] / "var" / "openai-backend-worker.log"
    log.unlink(missing_ok=True)
    process = celery_worker_start(name="openai-backend", queues="llm",
                                  env={"LLM_BACKEND": "openai", "LLM_BASE_URL": openai_server.base_url, "LLM_MAX_CONCURRENCY": "2"})
    try:
        line = wait_for(lambda: next((x for x in log.read_text().splitlines() if "LLM backend:" in x), None), timeout=180, interval=1)
    finally:
        celery_worker_stop(process)

    assert f"openai-compatible server {openai_server.base_url} (llama-cpp-python server)" in line
    assert "JSON schema by json_object" in line and "2 generations at once per worker" in line
