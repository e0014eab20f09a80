from django.core.management.base import BaseCommand

from eshop import benchmark as storefront
from llm import benchmark as engine
from llm import benchmark_backends as backends
from support import benchmark as support

PARTS = ["engine", "storefront", "triage", "chat", "backends"]


class Command(BaseCommand):
    help = "Benchmark the engine and the storefront; print figures; write var/bench/latest.json."

    def add_arguments(self, parser):
        parser.add_argument("--part", action="append", choices=PARTS, help="Only these parts (repeatable).")
        parser.add_argument("--model", default=None, help="Generative model (default: LLM_MODEL).")
        parser.add_argument("--tickets", type=int, default=10, help="Tickets for the triage comparison.")
        parser.add_argument("--questions", type=int, default=8, help="Questions for the chat benchmark.")
        parser.add_argument("--threads", type=int, default=8, help="Concurrent clients for the page benchmark.")
        parser.add_argument("--base-url", default=None,
                            help="backends: the inference server to compare (default: start llama-cpp-python's server on --port).")
        parser.add_argument("--port", type=int, default=8170, help="backends: port for the server the bench starts.")

    def handle(self, *args, part, model, tickets, threads, questions, base_url, port, **options):
        say = self.stdout.write
        results = {}
        if "engine" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> engine"))
            results["engine"] = {
                "embeddings": engine.bench_embeddings(progress=say),
                "generation": engine.bench_generation(model=model, progress=say),
                "triage": engine.bench_triage(model=model, tickets=tickets, progress=say),
            }
            triage = results["engine"]["triage"]
            say(f"  triage p50/p95: one structured call {triage['one_structured_call']['p50_s']:.1f}/"
                f"{triage['one_structured_call']['p95_s']:.1f} s, separate calls {triage['separate_calls']['p50_s']:.1f}/"
                f"{triage['separate_calls']['p95_s']:.1f} s")
        if "storefront" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> storefront"))
            results["storefront"] = {
                "search": storefront.bench_search(progress=say),
                "pages": storefront.bench_pages(threads=threads, progress=say),
            }
        if "triage" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> triage pipeline (through the workers)"))
            results["triage_pipeline"] = support.bench_triage_pipeline(tickets=tickets, progress=say)
        if "chat" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> chat"))
            figures = results["chat"] = support.bench_chat(model=model, questions=questions, progress=say)
            for name in ("time_to_sources", "time_to_first_token", "time_to_answer"):
                say(f"  {name:<20} p50 {figures[name]['p50_s']:.2f} s  p95 {figures[name]['p95_s']:.2f} s  (n={figures[name]['n']})")
        if "backends" in (part or PARTS):
            say(self.style.MIGRATE_HEADING("==> backends: in-process vs OpenAI-compatible server (same model, same questions)"))
            results["backends"] = backends.bench_backends(model=model, questions=questions, base_url=base_url, port=port, progress=say)
            backends.print_backends(results["backends"], say)
        say(f"written to {engine.write_bench(results)}")
