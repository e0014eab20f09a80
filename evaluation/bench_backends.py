"""`bench --part backends`: the same model in this process and behind an OpenAI-compatible server,
on the same chat questions on the same machine, interleaved (question 1 in-process, then over HTTP,
question 2 ...), so their ratio holds on a busy machine even where the absolute times do not.

Figures per backend: time to the first token, generation tokens/s, the whole answer's time, and the
throughput of 4 chat turns at once. The HTTP hop's cost is read two ways: the round trip of a
request that generates nothing (GET /models) against an answer's time, and the end-to-end
difference between the backends on the same answers. Without --base-url the bench starts
llama-cpp-python's server on the model (evaluation/llama_cpp_server.py); note that that server runs one
request at a time, so the 4-at-once gain needs llama-server's parallel slots (profile cpu-server).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from llm import engine
from evaluation.runner import knowledge_pages, latency, load_jsonl
from evaluation.llama_cpp_server import LlamaCppServer
from llm.model_files import resolve_generative_model
from llm.openai_backend import OpenAIChatBackend
from llm.services.answer import Passage, answer_messages

MAX_TOKENS = 96
CONCURRENT = 4


def chat_prompts(count: int) -> list[list[dict]]:
    """Chat-answer prompts as the chat builds them: a question and its manual page(s) as passages."""
    pages = knowledge_pages()
    prompts = []
    for row in load_jsonl("kb_questions.jsonl"):
        texts = [pages[source] for source in row.get("sources", []) if source in pages][:2]
        if texts:
            passages = [Passage(id=i, text=text[:1200], source=source) for i, (source, text) in enumerate(zip(row["sources"], texts), 1)]
            prompts.append(answer_messages(row["question"], passages))
        if len(prompts) == count:
            break
    return prompts


def _one(generator: engine.Generator, messages: list[dict]) -> dict:
    started = time.monotonic()
    first, tokens = None, 0
    for _ in generator.stream(messages, max_tokens=MAX_TOKENS, time_limit=600):
        first = first if first is not None else time.monotonic() - started
        tokens += 1
    total = time.monotonic() - started
    return {"ttft": first or total, "total": total, "tokens": tokens,
            "tokens_per_s": (tokens - 1) / max(total - (first or total), 1e-6) if tokens > 1 else 0.0}


def _concurrent(generator: engine.Generator, prompts: list[list[dict]]) -> dict:
    """CONCURRENT turns started together: wall time, and generated tokens per second over all of them."""
    results: list[dict] = []
    threads = [threading.Thread(target=lambda m=m: results.append(_one(generator, m))) for m in prompts[:CONCURRENT]]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    return {"turns": len(results), "wall_s": round(wall, 2), "tokens_per_s": round(sum(r["tokens"] for r in results) / wall, 1)}


def _summary(runs: list[dict]) -> dict:
    return {"time_to_first_token": latency([r["ttft"] for r in runs]), "answer": latency([r["total"] for r in runs]),
            "tokens_per_s_median": round(statistics.median(r["tokens_per_s"] for r in runs), 1)}


def bench_backends(*, model: str | None, questions: int, base_url: str | None, port: int,
                   progress: Callable[[str], None]) -> dict:
    name = model or settings.LLM_MODEL
    path = resolve_generative_model(name, settings.LLM_MODEL_DIR)
    server = None
    if not base_url:
        log = Path(settings.BASE_DIR) / "var" / "bench" / "llm-server.log"
        server = LlamaCppServer.start(model_path=path, alias=name, port=port, log_path=log, threads=settings.LLM_THREADS,
                                      context_tokens=settings.LLM_CONTEXT_TOKENS)
        base_url = server.base_url
    try:
        local = engine.Generator(name=name, path=path, backend=engine._llama_backend(path), context_tokens=settings.LLM_CONTEXT_TOKENS)
        backend = OpenAIChatBackend(base_url=base_url, model=name, api_key=settings.LLM_API_KEY)
        http = engine.Generator(name=name, path=None, backend=backend, context_tokens=settings.LLM_CONTEXT_TOKENS)
        progress(f"  server: {backend.capabilities()['server']} at {base_url}")
        prompts = chat_prompts(max(questions, CONCURRENT))
        warm = [{"role": "user", "content": "Hi"}]
        local.complete(warm, max_tokens=2)
        http.complete(warm, max_tokens=2)
        runs: dict[str, list[dict]] = {"in_process": [], "http": []}
        for i, messages in enumerate(prompts[:questions], 1):
            runs["in_process"].append(_one(local, messages))
            runs["http"].append(_one(http, messages))
            a, b = runs["in_process"][-1], runs["http"][-1]
            progress(f"  question {i}/{questions}: first token {a['ttft']:.2f} / {b['ttft']:.2f} s, "
                     f"answer {a['total']:.2f} / {b['total']:.2f} s (in-process / HTTP)")
        hops = []
        for _ in range(20):
            started = time.monotonic()
            backend.get_json("/models")
            hops.append(time.monotonic() - started)
        results = {"model": name, "base_url": base_url, "questions": questions, "max_tokens": MAX_TOKENS,
                   **{key: _summary(value) for key, value in runs.items()}}
        for key, generator in (("in_process", local), ("http", http)):
            results[key]["concurrent_4"] = _concurrent(generator, prompts)
            progress(f"  {key}: {CONCURRENT} turns at once in {results[key]['concurrent_4']['wall_s']:.1f} s")
        answer_s = results["in_process"]["answer"]["p50_s"]
        differences = [(b["total"] - a["total"]) / a["total"] for a, b in zip(runs["in_process"], runs["http"], strict=True)]
        results["http_hop"] = {"round_trip_ms_median": round(statistics.median(hops) * 1000, 2),
                               "round_trip_share_of_answer": round(statistics.median(hops) / answer_s, 4),
                               "end_to_end_difference_median": round(statistics.median(differences), 4), "target_share": 0.05}
        return results
    finally:
        if server is not None:
            server.stop()


def print_backends(figures: dict, say: Callable[[str], None]) -> None:
    say(f"  {'':<22}{'in-process':>14}{'HTTP':>14}")
    a, b = figures["in_process"], figures["http"]
    for label, key in (("first token p50 (s)", "time_to_first_token"), ("answer p50 (s)", "answer")):
        say(f"  {label:<22}{a[key]['p50_s']:>14.2f}{b[key]['p50_s']:>14.2f}")
    say(f"  {'tokens/s (median)':<22}{a['tokens_per_s_median']:>14.1f}{b['tokens_per_s_median']:>14.1f}")
    say(f"  {'4 at once: tokens/s':<22}{a['concurrent_4']['tokens_per_s']:>14.1f}{b['concurrent_4']['tokens_per_s']:>14.1f}")
    hop = figures["http_hop"]
    say(f"  HTTP hop: {hop['round_trip_ms_median']:.1f} ms a round trip = {hop['round_trip_share_of_answer']:.2%} of an answer "
        f"(target <= 5%); end-to-end difference on the same answers {hop['end_to_end_difference_median']:+.1%}")
