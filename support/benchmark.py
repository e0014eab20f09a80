"""`make bench` chat figures: time to sources, to the first answer token and to the whole answer.

Each question is a committed chat turn answered by chat_turn_answer, the code the llm worker runs,
here in this process (so the figures leave out the wait for a free worker, and include everything
after: retrieval, prompt, generation, checks, Redis events, database writes). Times are measured
from the turn's request time, as the customer's browser would see them.
"""

from __future__ import annotations

from collections.abc import Callable

from llm.evaluation.runner import knowledge_base_ready, latency
from support.models import ChatTurn, Conversation

CHAT_QUESTIONS = [
    "How long does the GloTech headlamp take to charge?",
    "Do you ship to Canada and how long does it take?",
    "My NightOps flashlight gets dimmer after a few minutes, is it broken?",
    "Can I return a tent I have already used on a trip?",
    "How often should I replace the cartridge of the AquaMax water filter?",
    "What payment methods do you accept?",
    "How do I clean the Arctic Dream sleeping bag?",
    "Does the SolarBoost power bank charge a laptop?",
]


def bench_chat(*, model: str | None, questions: int, progress: Callable[[str], None]) -> dict:
    from support.services.chat import chat_turn_answer

    knowledge_base_ready(progress)
    conversation = Conversation.objects.create(session_key="bench")
    to_sources, to_first_token, to_answer, abstained, failed = [], [], [], 0, []

    def answer(turn: ChatTurn) -> bool:
        try:
            chat_turn_answer(turn_id=turn.pk, model=model)
            return True
        except Exception as exc:  # noqa: BLE001 - a failed turn (a timeout on a busy machine) is counted, not fatal
            failed.append(f"{turn.question}: {type(exc).__name__}: {exc}")
            progress(f"    failed: {failed[-1]}")
            return False

    try:
        answer(ChatTurn.objects.create(conversation=conversation, question="How do I charge the headlamp?"))  # load the models
        failed.clear()
        for question in (CHAT_QUESTIONS * 10)[:questions]:
            turn = ChatTurn.objects.create(conversation=conversation, question=question)
            if not answer(turn):
                continue
            turn.refresh_from_db()
            to_sources.append(turn.seconds_to_sources)
            if turn.seconds_to_first_token is not None:
                to_first_token.append(turn.seconds_to_first_token)
            to_answer.append(turn.seconds_total)
            abstained += turn.abstained
            progress(f"    {turn.seconds_to_sources:.2f} s sources, {turn.seconds_to_first_token or 0:.1f} s first token, "
                     f"{turn.seconds_total:.1f} s answer: {question}")
    finally:
        conversation.delete()
    return {"time_to_sources": latency(to_sources), "time_to_first_token": latency(to_first_token),
            "time_to_answer": latency(to_answer), "abstained": abstained, "questions": len(to_answer), "failed": failed,
            "measured": "in-process chat_turn_answer (the llm worker's code), without the queue wait"}
