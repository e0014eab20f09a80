"""`make bench` engine figures: embeddings/s, SLM prompt and generation tokens/s, triage latency
with one structured call vs separate calls. Written to var/bench/latest.json (one key per part;
other apps add theirs with `write_bench`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from evaluation.runner import latency, load_jsonl, write_results


def bench_embeddings(*, progress: Callable[[str], None]) -> dict:
    from llm.services.embed import embed_texts

    texts = [row["text"] for row in load_jsonl("messages.jsonl")]
    embed_texts(texts=texts[:8])  # load the model outside the timing
    started = time.monotonic()
    embed_texts(texts=texts, batch_size=32)
    batched = len(texts) / (time.monotonic() - started)
    single_texts = texts[:60]
    started = time.monotonic()
    for text in single_texts:
        embed_texts(texts=[text])
    single = len(single_texts) / (time.monotonic() - started)
    progress(f"  embeddings: {batched:.0f} texts/s batched, {single:.0f} texts/s one at a time")
    return {"batched_texts_per_s": round(batched, 1), "single_texts_per_s": round(single, 1), "texts": len(texts)}


def bench_generation(*, model: str | None, progress: Callable[[str], None]) -> dict:
    from llm import engine
    from evaluation.runner import knowledge_pages

    generator = engine.generator(model)
    context = " ".join(list(knowledge_pages().values())[:3])[:3000]
    messages = [{"role": "system", "content": "You are a helpful shop assistant."},
                {"role": "user", "content": f"{context}\n\nSummarize the text above in five sentences."}]
    generator.complete([{"role": "user", "content": "Hi"}], max_tokens=4)  # warm-up
    generator.forget_cached_prompts()  # no cached prefix: measure real prompt processing
    generator.complete(messages, max_tokens=96)
    usage = generator.last_usage
    prompt_rate = usage.prompt_tokens / usage.first_token_seconds
    gen_rate = (usage.completion_tokens - 1) / max(usage.seconds - usage.first_token_seconds, 1e-6)
    progress(f"  {generator.name}: prompt {prompt_rate:.0f} tokens/s ({usage.prompt_tokens} tokens), generation {gen_rate:.1f} tokens/s")
    return {"model": generator.name, "prompt_tokens": usage.prompt_tokens, "prompt_tokens_per_s": round(prompt_rate, 1),
            "generated_tokens": usage.completion_tokens, "generated_tokens_per_s": round(gen_rate, 1)}


def bench_triage(*, model: str | None, tickets: int, progress: Callable[[str], None]) -> dict:
    """Per-ticket time and tokens generated: the old path (one schema-constrained call generating every field,
    llm/services/triage_one_call.py) against the new one (classification from next-token probabilities, values
    generated into a prefilled skeleton), interleaved ticket by ticket in one run on the same machine."""
    from llm import engine
    from llm.services.triage import triage_ticket
    from llm.services.triage_one_call import triage_ticket_one_call
    from support.selectors import ticket_category_options

    categories = ticket_category_options()
    rows = load_jsonl("messages.jsonl")[:tickets]
    new = engine.generator(model)
    new.complete([{"role": "user", "content": "Hi"}], max_tokens=2)  # load outside the timing
    # Each path gets its own llama.cpp context (the weights are shared), so each keeps its prompt prefix
    # cached from ticket to ticket as a worker running only that path would; one context would make
    # every call of one path evict the other's prefix.
    old_name = engine.generator_alongside(new.name, f"{new.name}#old-path").name
    figures = {"old": {"seconds": [], "tokens": [], "right": []}, "new": {"seconds": [], "tokens": [], "right": []}}
    for i, row in enumerate(rows, 1):
        thread = [{"author": "customer", "body": row["text"]}]
        # Alternate which path goes first, so neither always finds the other's prompt prefix cached.
        order = [("old", triage_ticket_one_call, old_name), ("new", triage_ticket, new.name)]
        for name, run, generator_name in order if i % 2 else reversed(order):
            started = time.monotonic()
            result = run(messages=thread, categories=categories, model=generator_name, use_head=False)
            figures[name]["seconds"].append(time.monotonic() - started)
            figures[name]["tokens"].append(result.generated_tokens)
            figures[name]["right"].append(result.category == row["category"])
        progress(f"  triage {i}/{len(rows)}: old {figures['old']['seconds'][-1]:.1f} s / {figures['old']['tokens'][-1]} tokens, "
                 f"new {figures['new']['seconds'][-1]:.1f} s / {figures['new']['tokens'][-1]} tokens")
    result = {}
    for name, f in figures.items():
        result[name] = {**latency(f["seconds"]), "mean_s": round(sum(f["seconds"]) / max(len(rows), 1), 3),
                        "mean_generated_tokens": round(sum(f["tokens"]) / max(len(rows), 1), 1),
                        # the same tickets through both paths: a check that the faster path is not a worse one
                        "category_accuracy": round(sum(f["right"]) / max(len(rows), 1), 3)}
    result["new_over_old_time"] = round(result["new"]["mean_s"] / max(result["old"]["mean_s"], 1e-9), 3)
    result["tickets"] = len(rows)
    return result


def write_bench(results: dict) -> Path:
    return write_results(results, Path(settings.BASE_DIR) / "var" / "bench" / "latest.json")
