import pytest

from evaluation.bench_chat import bench_chat_compare
from evaluation.bench_support import BENCH_CUSTOMER, bench_triage_pipeline
from support.models import ChatTurn, Conversation, Ticket


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_triage_bench_measures_latency_and_throughput_and_cleans_up(celery_worker_process, ticket_categories):
    lines = []
    figures = bench_triage_pipeline(tickets=1, progress=lines.append)
    assert figures["latency"]["p50_s"] > figures["debounce_s"] and figures["failed"] == 0
    assert figures["backlog_done"] == 1 and figures["throughput_tickets_per_minute"] > 0
    assert not figures["workers_started_by_bench"]  # the running worker was used
    assert any("tickets/minute" in line for line in lines)
    assert not Ticket.objects.filter(customer__email=BENCH_CUSTOMER).exists()


@pytest.mark.slow
@pytest.mark.django_db
def test_chat_benchmark_compares_the_old_and_new_paths_on_the_same_questions(demo_knowledge):
    figures = bench_chat_compare(model="smollm2-135m", questions=2, progress=lambda line: None)

    old, new = figures["old"], figures["new"]
    assert old["n"] == new["n"] == 2 and not figures["failed"]
    assert new["prompt_tokens"]["p50_s"] < old["prompt_tokens"]["p50_s"], "the new prompt is smaller"
    assert new["instant_answer"]["n"] >= 1 and old["instant_answer"]["n"] == 0
    assert 0 < new["instant_answer"]["p50_s"] <= new["whole_answer"]["p50_s"]
    assert set(figures["ratios_new_over_old"]) == {"prompt_tokens", "first_token", "whole_answer"}
    assert not Conversation.objects.exists() and not ChatTurn.objects.exists()  # the bench leaves nothing behind
