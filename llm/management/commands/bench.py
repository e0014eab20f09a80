from django.core.management.base import BaseCommand

from eshop import benchmark as storefront
from llm import benchmark as engine
from support import benchmark as support

PARTS = ["engine", "storefront", "triage", "chat"]


class Command(BaseCommand):
    help = "Benchmark the engine and the storefront; print figures; write var/bench/latest.json."

    def add_arguments(self, parser):
        parser.add_argument("--part", action="append", choices=PARTS, help="Only these parts (repeatable).")
        parser.add_argument("--model", default=None, help="Generative model (default: LLM_MODEL).")
        parser.add_argument("--tickets", type=int, default=10, help="Tickets for the triage comparison.")
        parser.add_argument("--pipeline", action="store_true", help="triage: also time the pipeline through real workers.")
        parser.add_argument("--questions", type=int, default=8, help="Questions for the chat benchmark.")
        parser.add_argument("--threads", type=int, default=8, help="Concurrent clients for the page benchmark.")

    def handle(self, *args, part, model, tickets, threads, questions, pipeline, **options):
        say = self.stdout.write
        results = {}
        if "engine" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> engine"))
            results["engine"] = {
                "embeddings": engine.bench_embeddings(progress=say),
                "generation": engine.bench_generation(model=model, progress=say),
            }
        if "storefront" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> storefront"))
            results["storefront"] = {
                "search": storefront.bench_search(progress=say),
                "pages": storefront.bench_pages(threads=threads, progress=say),
            }
        if "triage" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> triage per ticket: old path (one call) vs new path, interleaved"))
            figures = results["triage"] = engine.bench_triage(model=model, tickets=tickets, progress=say)
            for name in ("old", "new"):
                f = figures[name]
                say(f"  {name}: mean {f['mean_s']:.2f} s, p50 {f['p50_s']:.2f} s, p95 {f['p95_s']:.2f} s, "
                    f"{f['mean_generated_tokens']:.0f} tokens generated per ticket")
            say(f"  new / old time per ticket: {figures['new_over_old_time']:.2f} (same machine, same run)")
            if pipeline:
                say(self.style.MIGRATE_HEADING("==> triage pipeline (through the workers)"))
                results["triage_pipeline"] = support.bench_triage_pipeline(tickets=tickets, progress=say)
        if "chat" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> chat"))
            figures = results["chat"] = support.bench_chat(model=model, questions=questions, progress=say)
            for name in ("time_to_sources", "time_to_first_token", "time_to_answer"):
                say(f"  {name:<20} p50 {figures[name]['p50_s']:.2f} s  p95 {figures[name]['p95_s']:.2f} s  (n={figures[name]['n']})")
        say(f"written to {engine.write_bench(results)}")
