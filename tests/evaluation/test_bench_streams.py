import pytest
from django.contrib.sessions.models import Session
from django.db import connection

from evaluation.bench_streams import bench_streams
from support.models import ChatTurn, Conversation


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_streams_bench_measures_pages_with_open_streams_releases_every_slot_and_cleans_up():
    lines = []
    env = {"DJANGO_SETTINGS_MODULE": "config.django.test", "TEST_WORKER_DATABASE_NAME": connection.settings_dict["NAME"]}

    figures = bench_streams(streams=12, page_requests=6, progress=lines.append, env=env)

    assert figures["streams_open"] == 12 and figures["streams_open_during_pages"] == 12
    assert figures["page_errors"] == 0 and figures["idle"]["n"] == 6 and figures["with_streams"]["n"] == 6
    assert figures["slots_left_after_close"] == 0
    assert any("open streams" in line and "p95" in line for line in lines)
    assert not ChatTurn.objects.exists() and not Conversation.objects.exists() and not Session.objects.exists()
