"""The engine with real models: a small one (SmolLM2) for the contracts, the default one for quality."""

import json

import numpy as np
import pytest

from llm import engine
from llm.services.common import LLMInputError
from llm.services.embed import embed_texts
from llm.services.generate import generate_json, generate_stream
from llm.services.language import detect_language
from llm.services.triage import triage_ticket

pytestmark = pytest.mark.slow


def _cpu_has_avx512() -> bool:
    try:
        return "avx512f" in open("/proc/cpuinfo").read().split()
    except OSError:
        return False


# Bit-identical output between batch shapes (a prompt evaluated aside or held, sequences side by side or alone, drafted
# or plain decoding) holds on llama.cpp's AVX-512 build, where these tests pass; its AVX2 kernels round a batch of
# several tokens differently from one token at a time (2026-12-03, a 2-core AMD EPYC with `avx avx2` only: a
# probability 0.606 against 0.609, and then a different greedy continuation). The behaviour is still covered there.
same_rounding_in_every_batch_shape = pytest.mark.skipif(
    not _cpu_has_avx512(), reason="llama.cpp's AVX2 kernels round batched and one-at-a-time evaluation differently")

SMALL = "smollm2-135m"


def test_generation_streams_pieces_and_respects_max_tokens():
    pieces = list(generate_stream(messages=[{"role": "user", "content": "Count from one to fifty in words."}], max_tokens=8, model=SMALL))

    assert len(pieces) >= 2
    assert engine.generator(SMALL).last_usage.completion_tokens <= 8


def test_json_schema_constrains_the_output():
    schema = {"type": "object", "properties": {"colour": {"type": "string", "enum": ["red", "green"]}}, "required": ["colour"]}

    data = generate_json(messages=[{"role": "user", "content": "Pick a colour for a tent. Reply as JSON."}], json_schema=schema, model=SMALL)

    assert data["colour"] in {"red", "green"}


def test_a_generation_past_its_time_limit_stops_with_the_partial_text():
    with pytest.raises(engine.GenerationTimeout) as caught:
        list(generate_stream(messages=[{"role": "user", "content": "Write a long story about a tent."}], max_tokens=400,
                             time_limit=0.01, model=SMALL))
    assert caught.value.partial != ""


@pytest.mark.parametrize("max_tokens", [0, -1, 5000, "10"])
def test_bad_max_tokens_is_refused(max_tokens):
    with pytest.raises(LLMInputError, match="max_tokens"):
        generate_stream(messages=[{"role": "user", "content": "hi"}], max_tokens=max_tokens, model=SMALL)


@pytest.mark.parametrize("model", [SMALL, "qwen2.5-coder-1.5b"])
def test_option_probabilities_read_the_next_token_distribution(model):
    generator = engine.generator(model)
    messages = [{"role": "system", "content": "Answer with the letter of the right option only."},
                {"role": "user", "content": "What colour is snow?\nA) green\nB) white\nC) black"}]

    first = generator.option_probabilities(messages, options=["A", "B", "C"])
    again = generator.option_probabilities(messages, options=["A", "B", "C"])  # the prompt prefix is reused

    assert len(first) == 3 and sum(first) == pytest.approx(1.0)
    if model != SMALL:  # the 135M model is for contracts only: it does not know what colour snow is
        assert max(range(3), key=first.__getitem__) == 1
    assert again == pytest.approx(first, abs=0.05)
    assert generator.last_usage.completion_tokens == 0  # read from the logits, nothing generated
    with pytest.raises(ValueError, match="different tokens"):
        generator.option_probabilities(messages, options=["A", "A"])


@pytest.mark.parametrize("model", [SMALL, "qwen2.5-coder-1.5b"])
def test_text_probabilities_score_whole_names_even_when_they_start_alike(model):
    generator = engine.generator(model)
    messages = [{"role": "system", "content": "Answer with the name of the right category only."},
                {"role": "user", "content": "Ticket: 'Where is my parcel? It was due on Monday.'\nCategories:\n"
                                            "- Order status: where an order is\n- Order changes: changing an order\n"
                                            "- Order: anything else about orders\n- Returns: sending a product back"}]
    names = ["Order status", "Order changes", "Order", "Returns"]

    shares = generator.text_probabilities(messages, texts=names)

    assert len(shares) == 4 and sum(shares) == pytest.approx(1.0) and all(s > 0 for s in shares)
    assert len({round(s, 6) for s in shares[:3]}) == 3, "names that start alike still get their own probability"
    if model != SMALL:
        assert max(range(4), key=shares.__getitem__) == 0
    assert generator.last_usage.completion_tokens == 0
    with pytest.raises(ValueError, match="different texts"):
        generator.text_probabilities(messages, texts=["Order", "Order"])


def test_continue_text_generates_after_a_prefilled_prefix():
    generator = engine.generator(SMALL)
    messages = [{"role": "user", "content": "Name a colour as JSON."}]

    text = generator.continue_text(messages, answer_prefix='{"colour": "', max_tokens=8, stop=['"'])

    assert '"' not in text and 1 <= generator.last_usage.completion_tokens <= 8


@same_rounding_in_every_batch_shape
def test_a_question_asked_aside_reads_the_same_and_leaves_the_held_prompt_for_the_next_call():
    generator = engine.generator(SMALL)
    held = [{"role": "system", "content": "You answer questions about tents."}, {"role": "user", "content": "Is it big?"}]
    aside = [{"role": "system", "content": "You review replies."}, {"role": "user", "content": "Is the reply polite?"}]
    plain = generator.option_probabilities(aside, options=["Yes", "No"])
    generator.option_probabilities(held, options=["Yes", "No"])

    read_aside = generator.option_probabilities(aside, options=["Yes", "No"], aside=True)
    assert read_aside == pytest.approx(plain, abs=0.05)  # batched differently: the same up to rounding
    generator.option_probabilities(held, options=["Yes", "No"])

    assert generator.last_usage.prompt_tokens == 1  # the held prompt was still there: only its last token again
    other = [{"role": "system", "content": "You answer questions about stoves and their fuel."}, held[1]]
    generator.option_probabilities(other, options=["Yes", "No"])
    assert generator.option_probabilities(aside, options=["Yes", "No"], aside=True) == pytest.approx(read_aside, abs=1e-6)
    # a context too full to hold it beside what it holds: read in place of that, not refused
    ops = generator._prefill()
    aside_tokens = len(ops.tokenize_text(ops.render_chat(aside)))
    long = [{"role": "user", "content": "Tell me about tents. " * int(generator.context_tokens / 5)}]
    while len(ops.tokenize_text(ops.render_chat(long))) >= generator.context_tokens - aside_tokens // 2:
        long[0]["content"] = long[0]["content"][:-len("Tell me about tents. ")]
    generator.option_probabilities(long, options=["Yes", "No"])
    assert ops.llama.n_tokens + aside_tokens >= generator.context_tokens
    assert generator.option_probabilities(aside, options=["Yes", "No"], aside=True) == pytest.approx(plain, abs=0.05)


def test_a_system_prompt_another_task_evicted_is_put_back_instead_of_evaluated_again():
    """One context serves chat turns and triage runs: after another system prompt took the context, a prompt whose
    system prompt was kept evaluates only what follows it, and reads what it read while the context still held it."""
    generator = engine.generator(SMALL)
    ops = generator._prefill()
    chat = {"role": "system", "content": "You answer questions about tents and their poles. " * 6}
    triage = {"role": "system", "content": "You sort support tickets into categories. " * 6}
    first = [chat, {"role": "user", "content": "Apples are red. Is the tent big?"}]
    second = [chat, {"role": "user", "content": "Zebras have stripes. Is the tent light?"}]
    generator.option_probabilities(first, options=["Yes", "No"])
    held = generator.option_probabilities(second, options=["Yes", "No"])
    evaluated_while_held = generator.last_usage.prompt_tokens
    generator.option_probabilities([triage, {"role": "user", "content": "Where is my parcel?"}], options=["Yes", "No"])
    assert ops._tokens_held(ops.system_tokens(second)) < len(ops.system_tokens(second))  # evicted

    restored = generator.option_probabilities(second, options=["Yes", "No"])

    whole = len(ops.tokenize_text(ops.render_chat(second)))
    assert generator.last_usage.prompt_tokens == evaluated_while_held == whole - len(ops.system_tokens(second))
    assert restored == pytest.approx(held, abs=1e-6)
    again = [triage, {"role": "user", "content": "Where is my parcel now?"}]
    generator.option_probabilities(again, options=["Yes", "No"])  # and the other task's came back the same way
    assert generator.last_usage.prompt_tokens == len(ops.tokenize_text(ops.render_chat(again))) - len(ops.system_tokens(again))


@same_rounding_in_every_batch_shape
def test_continuations_side_by_side_are_what_each_one_alone_would_be():
    """llama.cpp decodes independent continuations of one prompt as sequences of one batch; each is the greedy
    continuation it would be alone, with its own stop strings and token limit, and the context afterwards holds
    the shared prompt only (a later question about it is answered as before)."""
    generator = engine.generator(SMALL)
    assert generator._prefill().parallel_sequences() >= 3  # the context is made for sequences side by side
    messages = [{"role": "system", "content": "You reply with JSON."}, {"role": "user", "content": "Describe Paris as JSON."}]
    prefixes, limits, stops = ['{"country": "', '{"river": "', '{"sights": "'], [8, 8, 3], [['"'], ['"'], ["\n"]]
    before = generator.text_probabilities(messages, texts=["yes", "no"], answer_prefix='{"big": "')

    together = generator.continue_texts(messages, answer_prefixes=prefixes, max_tokens=limits, stops=stops)
    used = generator.last_usage.completion_tokens
    alone = [generator.continue_text(messages, answer_prefix=p, max_tokens=n, stop=s) for p, n, s in zip(prefixes, limits, stops)]

    assert together == alone and together[0] and '"' not in together[0] + together[1]
    assert 3 <= used <= sum(limits)
    assert generator.text_probabilities(messages, texts=["yes", "no"], answer_prefix='{"big": "') == pytest.approx(before, abs=1e-4)
    with pytest.raises(ValueError, match="one max_tokens and one stop list"):
        generator.continue_texts(messages, answer_prefixes=prefixes, max_tokens=[8], stops=stops)
    with pytest.raises(ValueError, match="the context holds"):  # refused before anything is evaluated
        generator.continue_texts(messages, answer_prefixes=prefixes, max_tokens=[8, 8, generator.context_tokens],
                                 stops=stops)


def test_continuations_side_by_side_evaluate_the_shared_start_once_and_leave_it_held():
    """The shared start's tokens the context does not hold yet go into the first batch for every sequence at once;
    afterwards the context holds exactly that start, so the next question about the prompt evaluates only its own
    tokens (any machine: no comparison of logits across batch shapes)."""
    generator = engine.generator(SMALL)
    ops = generator._prefill()
    messages = [{"role": "system", "content": "You reply with JSON."}, {"role": "user", "content": "Describe Rome as JSON."}]
    generator.text_probabilities([messages[0], {"role": "user", "content": "Describe Oslo."}], texts=["yes", "no"])

    written = generator.continue_texts(messages, answer_prefixes=['{"country": "', '{"river": "'], max_tokens=[6, 6],
                                       stops=[['"'], ['"']])

    start = ops.tokenize_text(ops.render_chat(messages) + '{"')  # what both prompts share
    assert all(written) and not any('"' in text for text in written)
    assert ops.llama.n_tokens == len(start) and list(ops.llama.input_ids[: len(start)]) == start
    generator.text_probabilities(messages, texts=["yes", "no"], answer_prefix='{"big": "')
    asked = ops.tokenize_text(ops.render_chat(messages) + '{"big": "')
    assert generator.last_usage.prompt_tokens == len(asked) - len(start)


def test_a_failed_side_by_side_decode_leaves_the_context_claiming_only_what_it_holds(monkeypatch):
    """When llama.cpp refuses the first batch, the shared start it carried was never evaluated: the context claims only
    the start it held before, so the next question evaluates the rest again instead of reading stale cells."""
    import llama_cpp

    generator = engine.generator(SMALL)
    ops = generator._prefill()
    earlier = [{"role": "system", "content": "You reply with JSON."}, {"role": "user", "content": "Describe Oslo."}]
    messages = [earlier[0], {"role": "user", "content": "Describe Rome as JSON."}]
    generator.text_probabilities(earlier, texts=["yes", "no"])
    asked = ops.tokenize_text(ops.render_chat(messages) + '{"big": "')
    held = ops._tokens_held(asked)
    monkeypatch.setattr(llama_cpp, "llama_decode", lambda ctx, batch: 1)

    with pytest.raises(RuntimeError, match="side by side"):
        generator.continue_texts(messages, answer_prefixes=['{"country": "', '{"river": "'], max_tokens=[6, 6],
                                 stops=[['"'], ['"']])

    monkeypatch.undo()
    assert ops.llama.n_tokens == held
    generator.text_probabilities(messages, texts=["yes", "no"], answer_prefix='{"big": "')
    assert generator.last_usage.prompt_tokens == len(asked) - held


def test_a_generator_alongside_keeps_a_context_of_its_own():
    first = engine.generator(SMALL)
    alias = f"{SMALL}#test-alongside"
    try:
        second = engine.generator_alongside(SMALL, alias)
        assert engine.generator(alias) is second and engine.generator_alongside(SMALL, alias) is second
        assert second.backend is not first.backend and second.path == first.path
        tents = [{"role": "user", "content": "Is the tent big enough for two people and their packs?"}]
        stoves = [{"role": "user", "content": "Does the stove burn propane or butane canisters?"}]
        first.option_probabilities(tents, options=["Yes", "No"])
        second.option_probabilities(stoves, options=["Yes", "No"])

        first.option_probabilities(tents, options=["Yes", "No"])

        assert first.last_usage.prompt_tokens == 1, "the other generator's prompt did not evict this one's"
    finally:
        engine.forget_generator(alias)


def test_an_alias_of_a_served_model_shares_its_backend_and_closes_it_only_with_the_last(monkeypatch):
    class Backend:
        closed = 0

        def close(self):
            self.closed += 1

    served = Backend()
    monkeypatch.setattr(engine, "_generators", {"served": engine.Generator(name="served", path=None, backend=served,
                                                                            context_tokens=4096)})
    alias = engine.generator_alongside("served", "served#old-path")
    assert alias.backend is served, "an inference server's model has no context of its own to keep"

    engine.forget_generator("served#old-path")
    assert served.closed == 0, "the served generator still uses it"
    engine.forget_generator("served")
    assert served.closed == 1


@same_rounding_in_every_batch_shape
def test_prompt_lookup_decoding_writes_what_the_plain_model_writes(settings, monkeypatch):
    """LLM_PROMPT_LOOKUP_TOKENS loads llama.cpp with a draft of tokens copied from the prompt; greedy decoding
    keeps only drafted tokens the model itself would write, so the answer (here one that copies its passage,
    under a JSON schema as chat answers are) is the same."""
    passage = ("Passage [1]: The Trailblaze headlamp charges fully in about 3 hours from a 5 V / 1 A USB port. " * 24).strip()  # > n_batch (512) tokens
    messages = [{"role": "system", "content": "Answer from the passage, copying its words."},
                {"role": "user", "content": f"{passage}\nQuestion: how long does it take to charge?"}]
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    plain = engine.generator(SMALL).complete(messages, max_tokens=40, json_schema=schema)
    monkeypatch.setattr(engine, "_generators", {})
    settings.LLM_PROMPT_LOOKUP_TOKENS = 8

    drafted = engine.generator(SMALL)

    assert drafted.backend.draft_model is not None and drafted.backend.draft_model.num_pred_tokens == 8
    assert drafted.complete(messages, max_tokens=40, json_schema=schema) == plain and len(plain) > 10
    engine.forget_generator(SMALL)
    assert SMALL not in engine._generators


@pytest.mark.django_db
def test_small_model_triage_stays_inside_the_label_sets(categories):
    result = triage_ticket(messages=[{"author": "customer", "body": "Where is my order TH-104213? It is a week late."}],
                           categories=categories, model=SMALL)

    assert result.category in {c.slug for c in categories}
    assert result.sentiment in {"very_negative", "negative", "neutral", "positive", "very_positive"}
    assert result.urgency in {"low", "normal", "high", "urgent"}
    assert 0 <= result.category_confidence <= 1


@pytest.mark.django_db
def test_default_model_triages_a_clear_ticket(categories):
    thread = [{"author": "customer", "body": (
        "The Backcountry Cook propane stove I got last week leaks gas at the valve, I can smell it every time. "
        "This is dangerous and I'm really unhappy. Please send a replacement.")}]

    result = triage_ticket(messages=thread, categories=categories, model="qwen2.5-coder-1.5b")

    assert result.category == "defect-warranty"
    assert result.sentiment in {"negative", "very_negative"}
    assert result.urgency in {"high", "urgent"}
    assert 1 <= len(result.title.split()) <= 8 and len(result.summary.split()) <= 40
    assert result.language == "en"


@pytest.mark.django_db
def test_default_model_does_not_rate_thanks_as_urgent(categories):
    thread = [{"author": "customer", "body": "Quick note to say the tent kept us dry all weekend at the lake. Great shop, thanks!"}]

    result = triage_ticket(messages=thread, categories=categories, model="qwen2.5-coder-1.5b")

    assert result.urgency in {"low", "normal"}
    assert result.urgency_reason in {"Nothing to fix: praise, a suggestion, a question before buying",
                                     "An ordinary problem or request with no deadline"}


def test_embeddings_are_normalized_384d_and_meaningful():
    vectors = embed_texts(texts=["My tent pole snapped", "The tent pole broke on the first night", "Refund to my credit card"])

    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_embedding_bad_input_is_refused():
    with pytest.raises(LLMInputError):
        embed_texts(texts=[])
    with pytest.raises(LLMInputError, match=r"texts\[1\] is empty"):
        embed_texts(texts=["fine", "  "])


@pytest.mark.parametrize(("text", "code"), [
    ("Where is my order? It was supposed to arrive last week.", "en"),
    ("Hola, mi pedido no ha llegado todavía y no tengo el número de seguimiento.", "es"),
    ("Hallo, meine Bestellung ist nicht angekommen und ich möchte sie stornieren.", "de"),
    ("Bonjour, ma commande n'est pas arrivée, merci de vérifier.", "fr"),
])
def test_detect_language(text, code):
    assert detect_language(text=text)[0] == code


@pytest.mark.django_db(transaction=True)  # the worker reads the test database (trained heads)
def test_the_triage_task_runs_in_a_real_worker(celery_worker_process, categories, settings):
    from llm.tasks import llm_triage_messages_task

    payload = [{"slug": c.slug, "name": c.name, "description": c.description} for c in categories]
    result = llm_triage_messages_task.delay([{"author": "customer", "body": "Please cancel order TH-104213."}], payload).get(timeout=180)

    assert result["category"] in {c.slug for c in categories}
    assert json.dumps(result)
