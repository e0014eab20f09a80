"""The model is warmed when a worker serving generation starts (unit test with a fake model)."""

from llm import warmup
from llm.services.answer import answer_messages


def test_warm_up_evaluates_the_answer_prompts_constant_prefix(fake_generator):
    fake = fake_generator("{")

    warmup.warm_up()

    messages = fake.calls[0]["messages"]
    assert messages[0] == answer_messages("anything", [], None)[0], "the same system prompt as every answer"
    assert fake.calls[0]["max_tokens"] == 1


def test_only_workers_serving_chat_or_llm_warm_up():
    assert warmup.serves_generation(["chat", "llm"]) and warmup.serves_generation(["llm"])
    assert not warmup.serves_generation(["embed", "default"])
