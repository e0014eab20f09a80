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
        parser.add_argument("--questions", type=int, default=8, help="Questions for the chat benchmark.")
        parser.add_argument("--threads", type=int, default=8, help="Concurrent clients for the page benchmark.")
        parser.add_argument("--no-backlog", action="store_true", help="chat: skip the run behind a triage backlog.")

    def handle(self, *args, part, model, tickets, threads, questions, no_backlog, **options):
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
            from support import benchmark_chat

            figures = results["chat"] = benchmark_chat.bench_chat_compare(model=model, questions=questions, progress=say)
            say(f"  {'':<16} {'old p50':>9} {'old p95':>9} {'new p50':>9} {'new p95':>9} {'new/old p50':>12}")
            for name, unit in (("prompt_tokens", ""), ("instant_answer", "s"), ("first_token", "s"), ("whole_answer", "s")):
                old, new = figures["old"][name], figures["new"][name]
                ratio = figures["ratios_new_over_old"].get(name)
                say(f"  {name:<16} {old['p50_s'] if old['n'] else '-':>9} {old['p95_s'] if old['n'] else '-':>9} "
                    f"{new['p50_s']:>9} {new['p95_s']:>9} {ratio if ratio is not None else '-':>12}  {unit}")
            say(f"  abstained: old {figures['old']['abstained']}/{figures['old']['n']}, new {figures['new']['abstained']}/"
                f"{figures['new']['n']}; failed: {len(figures['failed'])}")
            if not no_backlog:
                say(self.style.MIGRATE_HEADING("==> chat behind a triage backlog (real llm worker)"))
                results["chat_behind_triage"] = benchmark_chat.bench_chat_behind_triage(tickets=tickets, progress=say)
        say(f"written to {engine.write_bench(results)}")
