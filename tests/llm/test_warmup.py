"""The model is warmed when a worker serving generation starts (unit test with a fake model)."""

from llm import warmup
from llm.services.answer import answer_messages


def test_warm_up_evaluates_the_answer_prompts_constant_prefix(fake_generator, monkeypatch):
    fake = fake_generator("{")
    monkeypatch.setattr(warmup, "_system_prompts", {})  # no other task's prompt (triage's reads the database)

    warmup.warm_up()

    messages = fake.calls[0]["messages"]
    assert messages[0] == answer_messages("anything", [], None)[0], "the same system prompt as every answer"
    assert fake.calls[0]["max_tokens"] == 1


def test_only_workers_serving_chat_or_llm_warm_up():
    assert warmup.serves_generation(["chat", "llm"]) and warmup.serves_generation(["llm"])
    assert not warmup.serves_generation(["embed", "default"])


def test_a_registered_task_prompt_is_evaluated_after_the_answers_and_a_failing_one_is_skipped(fake_generator, monkeypatch):
    fake = fake_generator("{")
    monkeypatch.setattr(warmup, "_system_prompts", {})
    warmup.register_system_prompt("broken", lambda: 1 / 0)
    warmup.register_system_prompt("triage", lambda: "You triage tickets.")

    warmup.warm_up()

    systems = [c["messages"][0]["content"] for c in fake.calls]
    assert systems == [answer_messages("anything", [], None)[0]["content"], "You triage tickets."]
    assert all(c["max_tokens"] == 1 for c in fake.calls)


def test_the_support_app_registers_triages_prompt_for_the_active_categories(db):
    from support.models import TicketCategory

    TicketCategory.objects.filter(slug="feedback").update(is_active=False)

    system = warmup._system_prompts["triage"]()

    assert system.startswith("You triage customer-support tickets") and "- billing-payment:" in system
    assert "- feedback:" not in system
