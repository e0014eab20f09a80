"""`make eval --task answers`: the chat's answers on data/answers.jsonl, through the chat's own path.

Each row is asked as the chat asks it: a conversation with the row's earlier turns (follow-ups),
the turn's context (standalone question, product in focus, history: chat_turn_context), its sources
(chat_sources_for_turn: real hybrid retrieval over the demo knowledge base) and the answer service,
in this process. Every row runs inside a transaction that is rolled back, so nothing is left behind.

The set was written before any tuning, in a style unlike the prompts (typos, angry and polite
complaints, several asks in one message) and is split into "tune" and "holdout" rows; the figures
are reported for each part separately (tune on holdout rows and the holdout figures mean nothing).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from django.db import transaction

from evaluation.runner import _gold_source, _page_product_id, knowledge_base_ready, latency, load_jsonl
from llm.services import grounding

SPLITS = ("tune", "holdout")


# A unit written out or abbreviated is one unit: "78 g" is recalled by "78 grams".
_UNIT_WORDS = {"g": "gram", "grams": "gram", "kg": "kilogram", "kilograms": "kilogram", "h": "hour", "hr": "hour",
               "hrs": "hour", "hours": "hour", "min": "minute", "mins": "minute", "minutes": "minute", "l": "liter",
               "liters": "liter", "litre": "liter", "litres": "liter", "mm": "millimeter", "cm": "centimeter"}


_INFLECTIONS = {"s", "es", "d", "ed", "ing", "ings"}


def _fact_words(text: str) -> list[str]:
    return [_UNIT_WORDS.get(w, w) for w in grounding.normalise(text).split()]


def _same_word(fact_word: str, word: str) -> bool:
    """Numbers exactly; words up to an inflection ("virus" = "viruses", "overheat" = "overheating", not
    "charge" = "charger")."""
    if fact_word == word:
        return True
    short, long = sorted((fact_word, word), key=len)
    return short.isalpha() and long.startswith(short) and long[len(short):] in _INFLECTIONS


def fact_found(fact: str, text: str) -> bool:
    """The fact occurs in the answer as consecutive words, normalised the same way as grounding ("1,500" =
    "1500", "six" = "6"), a unit's spellings as one ("g" = "grams") and a word with or without its ending."""
    wanted, words = _fact_words(fact), _fact_words(text)
    return bool(wanted) and any(all(_same_word(f, w) for f, w in zip(wanted, words[i:i + len(wanted)]))
                                for i in range(len(words) - len(wanted) + 1))


def _slug_page(card: dict) -> tuple[str, int | None]:
    return card["url"].split("/help/", 1)[-1].split("/", 1)[0].split("#", 1)[0], card.get("page")


def ask_row(row: dict, *, model: str | None) -> dict:
    """One row through the chat path; returns what the figures need (rolled back afterwards)."""
    from llm.services.answer import Passage, answer
    from support.models import ChatTurn, Conversation
    from support.services.chat_sources import chat_sources_for_turn, chat_turn_context, knowledge_brands

    with transaction.atomic():
        conversation = Conversation.objects.create(session_key="evaluation")
        earlier_turns_create(conversation=conversation, row=row)
        turn = ChatTurn.objects.create(conversation=conversation, question=row["question"],
                                       product_id=_page_product_id(row))
        context = chat_turn_context(turn=turn)
        sources, _ = chat_sources_for_turn(turn=turn, context=context)
        result = answer(question=row["question"], retrieval_question=context.standalone, history=context.history,
                        brands=knowledge_brands(), model=model,
                        passages=[Passage(id=s.n, text=s.text, source=s.source, kind=s.kind, brand=s.brand) for s in sources])
        transaction.set_rollback(True)
    cards = {s.n: s.card() for s in sources}
    texts = {s.n: f"{s.source}\n{s.text}" for s in sources}
    return {"result": result, "cards": cards, "texts": texts, "standalone": context.standalone}


def earlier_turns_create(*, conversation, row: dict) -> list:
    """A row's earlier turns, answered as the chat stores them: with the sources each question was answered
    from (retrieval only: a follow-up's product in focus can come from them, chat_sources._product_of_turn)."""
    from core.jobs import JobStatus
    from support.models import ChatTurn
    from support.services.chat_sources import chat_sources_for_turn, chat_turn_context

    turns = []
    for earlier in row["history"]:
        turn = ChatTurn.objects.create(conversation=conversation, question=earlier["question"], answer=earlier["answer"],
                                       product_id=_page_product_id(row))
        found, _ = chat_sources_for_turn(turn=turn, context=chat_turn_context(turn=turn))
        turn.sources, turn.status = [s.card() for s in found], JobStatus.DONE
        turn.save(update_fields=["sources", "status"])
        turns.append(turn)
    return turns


def _ungrounded(result, texts: dict[int, str]) -> bool:
    """Checked again here, independently of the answer service: a shown sentence with a number,
    price, e-mail, ... that none of the passages it cites holds."""
    for sentence in result.sentences:
        cited = [int(n) for n in re.findall(r"\[(\d+)\]", sentence)]
        source = "\n".join(texts.get(n, "") for n in cited)
        if not cited or grounding.ungrounded_terms(grounding.strip_citations(sentence), source):
            return True
    return False


def _figures(items: list[dict]) -> dict:
    single = [i for i in items if not i["row"]["history"]]
    follow = [i for i in items if i["row"]["history"]]
    answerable = [i for i in items if i["row"]["answerable"]]
    unanswerable = [i for i in items if not i["row"]["answerable"]]

    def recall(group):
        facts = [(f, i) for i in group if i["row"]["answerable"] for f in i["row"]["required_facts"]]
        return round(sum(fact_found(f, i["result"].text) for f, i in facts) / max(len(facts), 1), 3)

    answered = [i for i in answerable if not i["result"].abstained]
    wrong_citations = []
    for i in answered:
        gold = [_gold_source(s) for s in i["row"]["sources"]]
        cited = [_slug_page(i["cards"][n]) for n in i["result"].cited_ids if n in i["cards"]]
        if not (cited and all(any(slug == g and (page is None or page == p) for g, page in gold) for slug, p in cited)):
            wrong_citations.append(i["row"]["id"])
    right = len(answered) - len(wrong_citations)
    return {
        "fact_recall": recall(single),
        "follow_up_fact_recall": recall(follow),
        "citation_right_document_and_page": round(right / max(len(answered), 1), 3),
        "correct_abstention": round(sum(i["result"].abstained for i in unanswerable) / max(len(unanswerable), 1), 3),
        "false_abstention": round(sum(i["result"].abstained for i in answerable) / max(len(answerable), 1), 3),
        "answers_with_ungrounded_number": sum(_ungrounded(i["result"], i["texts"]) for i in items),
        "empty_answers": sum(not grounding.strip_citations(i["result"].text).strip(" .") for i in items),
        "sentences_removed_by_checks": sum(i["result"].removed_citations for i in items),
        "prompt_tokens": latency([i["result"].prompt_tokens for i in items]),
        "first_token": latency([i["result"].first_token_seconds for i in items if i["result"].first_token_seconds is not None]),
        "first_sentence": latency([i["result"].first_sentence_seconds for i in items
                                   if i["result"].first_sentence_seconds is not None]),
        "whole_answer": latency([i["result"].seconds for i in items]),
        "n": len(items), "answerable": len(answerable), "unanswerable": len(unanswerable), "follow_ups": len(follow),
        "misses": [i["row"]["id"] for i in items
                   if (i["row"]["answerable"] and (i["result"].abstained or not all(fact_found(f, i["result"].text)
                                                                                     for f in i["row"]["required_facts"])))
                   or (not i["row"]["answerable"] and not i["result"].abstained)],
        "citation_misses": wrong_citations,
    }


def evaluate_answers(*, limit: int | None, model: str | None, progress: Callable[[str], None],
                     split: str | None = None, ids: list[str] | None = None) -> dict:
    """Figures per split (tune, holdout) over the first `limit` rows of each split (all by default),
    or over the rows `ids` names."""
    knowledge_base_ready(progress)
    rows = load_jsonl("answers.jsonl")
    if ids:
        unknown = set(ids) - {r["id"] for r in rows}
        if unknown:
            raise ValueError(f"No such rows in answers.jsonl: {', '.join(sorted(unknown))}")
        rows = [r for r in rows if r["id"] in ids]
    results, errors = {}, 0
    for part in (split,) if split else SPLITS:
        items = []
        chosen = [r for r in rows if r["split"] == part][:limit]
        for n, row in enumerate(chosen, 1):
            started = time.monotonic()
            try:
                asked = ask_row(row, model=model)
            except Exception as exc:  # noqa: BLE001 - an eval counts failures (a timeout on a busy machine) instead of stopping
                errors += 1
                progress(f"    {row['id']}: {type(exc).__name__}: {exc} {getattr(exc, 'partial', '')[:300]!r}")
                continue
            items.append({"row": row, **asked})
            result = asked["result"]
            progress(f"    {part} {n}/{len(chosen)} {row['id']} {'ABSTAIN' if result.abstained else 'answer '} "
                     f"{result.prompt_tokens} prompt tokens {time.monotonic() - started:.1f} s: {result.text[:110]!r}")
            if result.abstained or result.dropped:
                progress(f"      answer_from {result.answer_from}, standalone {asked['standalone'][:80]!r}, "
                         f"removed: {'; '.join(result.dropped)[:300] or '-'}")
        results[part] = _figures(items)
    return {**results, "errors": errors, "model": model or "LLM_MODEL",
            "passages": "the chat's own path: chat_turn_context + chat_sources_for_turn (real retrieval) + answer"}
