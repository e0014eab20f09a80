"""`make bench --part chat`: today's chat pipeline against the new one, in one process, on the same
questions; then a chat asked behind a triage backlog, through a real llm worker.

Old ("today's pipeline", llm.services.answer_legacy): top-8 passages of up to 1,500 characters, free
text, the model's state reset before each question (no prefix cache), no instant answer; retrieval
and generation in this process. New: the chat's own code, in this process: chat_turn_prepare (what
the web process does: sources and the instant quote) then chat_turn_answer (what the llm worker
does), with the model warmed first, as the llm worker is when it starts. The old questions all run
first, then the new ones, so that the new path keeps its prompt prefix from one question to the
next as the llm worker does between chats (interleaving would reset it every time); both blocks run
on the same machine minutes apart, so load that changes between them shows in the ratios.

With `prompt_lookup`, the new path runs a third time with llama.cpp's prompt-lookup speculative decoding
(LLM_PROMPT_LOOKUP_TOKENS), the model loaded anew for it, to say whether it pays on this machine.

Times are from the moment of asking: instant answer, first generated token (the model's first raw
piece; the customer sees a sentence once it has passed the checks), whole answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from evaluation.runner import knowledge_base_ready, latency
from evaluation.bench_support import CHAT_QUESTIONS
from support.models import ChatTurn, Conversation


def _ratio(new: dict, old: dict, key: str = "p50_s") -> float | None:
    return round(new[key] / old[key], 3) if old.get(key) else None


def bench_old_path(*, question: str, model: str | None) -> dict:
    """Today's pipeline for one question: top-8 retrieval, legacy prompt, no prefix cache."""
    from llm import engine
    from llm.services.answer_legacy import Passage, answer_stream
    from support.selectors.knowledge import knowledge_search_for_question

    generator = engine.generator(model)
    generator.forget_cached_prompts()  # no cache: the next prompt is evaluated from its first token
    started = time.monotonic()
    found = knowledge_search_for_question(question=question, limit=8)
    stream = answer_stream(question=question, passages=[Passage(id=n, text=p.text, source=p.source) for n, p in enumerate(found, 1)],
                           model=model)
    first = None
    for _ in stream:
        if first is None:
            first = time.monotonic() - started
    return {"prompt_tokens": generator.last_usage.prompt_tokens, "instant": None, "first_token": first,
            "whole": time.monotonic() - started, "abstained": stream.result.abstained}


def bench_new_path(*, question: str, conversation: Conversation, model: str | None) -> dict:
    """The new pipeline for one question: the web part (prepare) then the worker part (answer)."""
    from llm import engine
    from support.services.chat import chat_turn_prepare
    from support.services.chat_answering import chat_turn_answer
    from support.services.chat_events import redis_client, turn_events_key

    turn = ChatTurn.objects.create(conversation=conversation, question=question)
    started = time.monotonic()
    chat_turn_prepare(turn_id=turn.pk)
    instant = time.monotonic() - started
    has_instant = any(b'"type": "instant"' in e for e in redis_client().lrange(turn_events_key(turn.pk), 0, -1))
    generator, prompts = engine.generator(model), []

    def counted(messages, **kwargs):  # the answer's prompts, counted as the worker sends them
        prompts.append(messages)
        return type(generator).stream(generator, messages, **kwargs)

    generator.stream = counted
    try:
        chat_turn_answer(turn_id=turn.pk, model=model)
    finally:
        del generator.stream  # the class's own method again
    whole = time.monotonic() - started
    turn.refresh_from_db()
    # the answer's prompt, and the judge's (answer_judged: read after the answer; its usage has no generated token)
    judged = generator.last_usage.prompt_tokens if prompts and not generator.last_usage.completion_tokens else 0
    prompt_tokens = sum(generator.count_tokens(messages) for messages in prompts) + judged
    return {"prompt_tokens": prompt_tokens, "instant": instant if has_instant else None,
            "first_token": turn.seconds_to_first_token, "whole": whole, "abstained": turn.abstained}


def _summary(rows: list[dict]) -> dict:
    return {"prompt_tokens": latency([r["prompt_tokens"] for r in rows]),
            "instant_answer": latency([r["instant"] for r in rows if r["instant"] is not None]),
            "first_token": latency([r["first_token"] for r in rows if r["first_token"] is not None]),
            "whole_answer": latency([r["whole"] for r in rows]),
            "abstained": sum(r["abstained"] for r in rows), "n": len(rows)}


def bench_chat_compare(*, model: str | None, questions: int, progress: Callable[[str], None], prompt_lookup: int = 0) -> dict:
    from llm import engine
    from llm.warmup import warm_up

    knowledge_base_ready(progress)
    asked = (CHAT_QUESTIONS * 10)[:questions]
    bench_old_path(question="How do I charge the headlamp?", model=model)  # loads the models (both paths share them)
    old, new, failed = [], [], []
    for question in asked:
        try:
            old.append(bench_old_path(question=question, model=model))
        except Exception as exc:  # noqa: BLE001 - a failed answer (a timeout on a busy machine) is counted, not fatal
            failed.append(f"old: {question}: {type(exc).__name__}: {exc}")
            continue
        progress(f"    old: {old[-1]['prompt_tokens']} prompt tokens, first token {old[-1]['first_token'] or 0:.1f} s, "
                 f"whole {old[-1]['whole']:.1f} s: {question}")
    warm_up(model)
    new = _bench_new_block(asked, model=model, label="new", failed=failed, progress=progress)
    old_figures, new_figures = _summary(old), _summary(new)
    figures = {"old": old_figures, "new": new_figures, "failed": failed, "model": model or settings.LLM_MODEL,
               "ratios_new_over_old": {key: _ratio(new_figures[key], old_figures[key])
                                       for key in ("prompt_tokens", "first_token", "whole_answer")}}
    if prompt_lookup and hasattr(engine.generator(model).backend, "n_ctx"):  # llama.cpp in this process only
        # The same new path with llama.cpp's prompt-lookup speculative decoding: the model is loaded anew with a
        # draft of `prompt_lookup` tokens copied from the prompt (which needs logits for every prompt token).
        with override_settings(LLM_PROMPT_LOOKUP_TOKENS=prompt_lookup):
            engine.forget_generator(model)
            warm_up(model)
            lookup = _bench_new_block(asked, model=model, label=f"new + lookup {prompt_lookup}", failed=failed, progress=progress)
            engine.forget_generator(model)
        figures["new_with_prompt_lookup"] = _summary(lookup)
        figures["prompt_lookup_tokens"] = prompt_lookup
        figures["ratios_lookup_over_new"] = {key: _ratio(figures["new_with_prompt_lookup"][key], new_figures[key])
                                             for key in ("first_token", "whole_answer")}
    return figures


def _bench_new_block(asked: list[str], *, model: str | None, label: str, failed: list[str],
                     progress: Callable[[str], None]) -> list[dict]:
    rows = []
    conversation = Conversation.objects.create(session_key="bench")
    try:
        for question in asked:
            try:
                rows.append(bench_new_path(question=question, conversation=conversation, model=model))
            except Exception as exc:  # noqa: BLE001
                failed.append(f"{label}: {question}: {type(exc).__name__}: {exc}")
                continue
            row = rows[-1]
            progress(f"    {label}: {row['prompt_tokens']} prompt tokens, instant {row['instant'] or 0:.2f} s, "
                     f"first token {row['first_token'] or 0:.1f} s, whole {row['whole']:.1f} s: {question}")
            conversation.turns.all().delete()  # every question starts a conversation: no history, as for the old path
    finally:
        conversation.delete()
    return rows


def bench_chat_behind_triage(*, tickets: int, progress: Callable[[str], None]) -> dict:
    """Queue `tickets` triage tasks, then ask a chat question: through a real llm worker (-Q chat,llm
    -c 1), the chat's first token must come no later than one triage run after it was asked."""
    from config.celery import app
    from eshop.models import User
    from llm.models import TaskRun
    from evaluation.bench_support import BENCH_CUSTOMER, _bench_texts, _start_worker
    from support.models import Ticket
    from support.services.chat import chat_turn_create
    from support.services.tickets import ticket_create
    from support.services.triage import TRIAGE_DEBOUNCE_SECONDS

    customer, _ = User.objects.get_or_create(email=BENCH_CUSTOMER, defaults={"first_name": "Bench", "is_active": False})
    worker = _start_worker(name="bench-chat-llm", queues="chat,llm")
    due_worker = _start_worker(name="bench-chat-default", queues="default")  # triage's debounce falls due there
    conversation = Conversation.objects.create(session_key="bench")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not app.control.ping(timeout=0.5):
            pass
        queued_at = timezone.now()
        backlog = [ticket_create(customer=customer, body=text).pk for text in _bench_texts(tickets)]
        time.sleep(TRIAGE_DEBOUNCE_SECONDS + 2)  # the triage tasks are on the queue and the worker is busy with one
        asked_at = time.time()
        turn = chat_turn_create(conversation=conversation, question=CHAT_QUESTIONS[0])
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            turn.refresh_from_db()
            if turn.seconds_to_first_token is not None or turn.status in ("done", "failed"):
                break
            time.sleep(0.2)
        first_token_at = asked_at + (turn.seconds_to_first_token or float("nan"))
        runs = [(seconds, started.timestamp() + seconds) for seconds, started in
                TaskRun.objects.filter(task_name="support.tasks.llm_triage_ticket", started_at__gte=queued_at).order_by("-id")
                .values_list("seconds", "started_at")[:tickets]]
        finished_between = sum(1 for _, at in runs if asked_at < at < first_token_at)
        longest = round(max((s for s, _ in runs), default=0), 2) or None
        figures = {"chat_first_token_s": turn.seconds_to_first_token, "triage_runs_seen": len(runs),
                   "triage_run_longest_s": longest, "triage_runs_finished_before_chat_first_token": finished_between,
                   "backlog_tickets": len(backlog), "ok": finished_between <= 1}
        progress(f"  behind {len(backlog)} queued triage tickets: chat first token {turn.seconds_to_first_token} s after "
                 f"asking; {finished_between} triage run(s) finished in between (longest triage run {longest} s)")
        return figures
    finally:
        Ticket.objects.filter(customer=customer).delete()
        customer.delete()
        conversation.delete()
        for process in (worker, due_worker):
            process.terminate()  # the rest of the bench backlog stays queued: its tickets are gone, so those tasks do nothing
        for process in (worker, due_worker):
            process.wait(timeout=60)
