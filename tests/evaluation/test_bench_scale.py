"""bench --part scale at a small size: it measures, and leaves nothing behind."""

import pytest
from django.db import connection

from evaluation.bench_scale import SCHEMA, bench_scale

pytestmark = [pytest.mark.slow, pytest.mark.django_db]


def test_scale_bench_measures_recall_and_latency_and_drops_its_schema():
    figures = bench_scale(chunks=2_000, tickets=1_000, queries=10, ef_search=[40], progress=lambda line: None)["by_ef_search"][40]

    assert figures["knowledge"]["recall_at_10"] >= 0.9
    assert figures["knowledge_product_filter"]["recall_at_10"] >= 0.9
    assert figures["similar_tickets"]["recall_at_10"] >= 0.9
    assert figures["hybrid"]["latency"]["n"] == 10
    assert figures["hybrid_every_any_word_match_ranked"]["latency"]["n"] == 10
    assert 0 <= figures["hybrid"]["same_top_10_as_every_match_ranked"] <= 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name = %s", [SCHEMA])
        assert cursor.fetchone()[0] == 0


@pytest.mark.parametrize("kwargs", [{"chunks": 10}, {"tickets": 10}, {"queries": 1}])
def test_scale_bench_refuses_sizes_too_small_to_mean_anything(kwargs):
    with pytest.raises(ValueError, match="at least"):
        bench_scale(**{"chunks": 2_000, "tickets": 1_000, "queries": 10, **kwargs}, progress=print)
