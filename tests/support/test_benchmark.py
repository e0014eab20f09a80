import pytest

from support import benchmark
from support.models import ChatTurn, Conversation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_chat_benchmark_times_sources_first_token_and_answer(demo_knowledge):
    figures = benchmark.bench_chat(model="smollm2-135m", questions=2, progress=lambda line: None)

    assert figures["questions"] == 2
    assert 0 < figures["time_to_sources"]["p50_s"] <= figures["time_to_answer"]["p50_s"]
    assert figures["time_to_answer"]["n"] == 2
    assert not Conversation.objects.exists() and not ChatTurn.objects.exists()  # the bench leaves nothing behind
