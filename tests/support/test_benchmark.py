import pytest

from support.benchmark import BENCH_CUSTOMER, bench_triage_pipeline
from support.models import Ticket


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
