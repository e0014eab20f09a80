import pytest

from evaluation.bench_support import BENCH_CUSTOMER, bench_chat, bench_triage_pipeline
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
def test_chat_benchmark_times_sources_first_token_and_answer(demo_knowledge):
    figures = bench_chat(model="smollm2-135m", questions=2, progress=lambda line: None)

    assert figures["questions"] == 2
    assert 0 < figures["time_to_sources"]["p50_s"] <= figures["time_to_answer"]["p50_s"]
    assert figures["time_to_answer"]["n"] == 2
    assert not Conversation.objects.exists() and not ChatTurn.objects.exists()  # the bench leaves nothing behind
