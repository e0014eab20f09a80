from django.core.management.base import BaseCommand

from llm import benchmark


class Command(BaseCommand):
    help = "Benchmark the engine (embeddings, SLM tokens/s, triage one call vs separate); write var/bench/latest.json."

    def add_arguments(self, parser):
        parser.add_argument("--model", default=None, help="Generative model (default: LLM_MODEL).")
        parser.add_argument("--tickets", type=int, default=10, help="Tickets for the triage comparison.")

    def handle(self, *args, model, tickets, **options):
        say = self.stdout.write
        say(self.style.MIGRATE_HEADING("==> engine"))
        results = {"engine": {
            "embeddings": benchmark.bench_embeddings(progress=say),
            "generation": benchmark.bench_generation(model=model, progress=say),
            "triage": benchmark.bench_triage(model=model, tickets=tickets, progress=say),
        }}
        triage = results["engine"]["triage"]
        say(f"  triage p50/p95: one structured call {triage['one_structured_call']['p50_s']:.1f}/"
            f"{triage['one_structured_call']['p95_s']:.1f} s, separate calls {triage['separate_calls']['p50_s']:.1f}/"
            f"{triage['separate_calls']['p95_s']:.1f} s")
        say(f"written to {benchmark.write_bench(results)}")
