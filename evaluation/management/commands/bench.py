from django.core.management.base import BaseCommand, CommandError

from evaluation import bench_backends as backends
from evaluation import bench_chat
from evaluation import bench_engine as engine
from evaluation import bench_storefront as storefront
from evaluation import bench_support as support
from evaluation import bench_streams
from evaluation.bench_load import bench_load
from evaluation.bench_scale import bench_scale

PARTS = ["engine", "storefront", "triage", "chat"]
# Heavy, only with --part: a web server with hundreds of open event streams, an inference server,
# minutes of index building, a running server under load.
ON_REQUEST = ["streams", "backends", "scale", "load"]


class Command(BaseCommand):
    help = "Benchmark the engine and the storefront; print figures; write var/bench/latest.json."

    def add_arguments(self, parser):
        parser.add_argument("--part", action="append", choices=PARTS + ON_REQUEST,
                            help=f"Only these parts (repeatable). Default: {', '.join(PARTS)}; {', '.join(ON_REQUEST)} only when named.")
        parser.add_argument("--model", default=None, help="Generative model (default: LLM_MODEL).")
        parser.add_argument("--tickets", type=int, default=10, help="Tickets for the triage comparison.")
        parser.add_argument("--pipeline", action="store_true", help="triage: also time the pipeline through real workers.")
        parser.add_argument("--questions", type=int, default=8, help="Questions for the chat benchmark.")
        parser.add_argument("--threads", type=int, default=8, help="Concurrent clients for the page benchmark.")
        parser.add_argument("--prompt-lookup", type=int, default=10,
                            help="chat: also run the new path with prompt-lookup decoding of this many draft tokens (0: skip).")
        parser.add_argument("--no-backlog", action="store_true", help="chat: skip the run behind a triage backlog.")
        parser.add_argument("--streams", type=int, default=200, help="Open chat event streams for the streams part (1-1000).")
        parser.add_argument("--port", type=int, default=0, help="Port of the streams part's web server (default: any free one).")
        parser.add_argument("--base-url", default=None,
                            help="backends: the inference server to compare (default: start llama-cpp-python's server on --server-port).")
        parser.add_argument("--server-port", type=int, default=8170, help="backends: port for the server the bench starts.")
        parser.add_argument("--chunks", type=int, default=100_000, help="scale: knowledge chunks (develop with 10000).")
        parser.add_argument("--scale-tickets", type=int, default=50_000, help="scale: tickets.")
        parser.add_argument("--ef-search", type=lambda v: [int(x) for x in v.split(",")], default=None,
                            help="scale: hnsw.ef_search values to measure, e.g. 40,100 (default: the app's HNSW_EF_SEARCH).")
        parser.add_argument("--host", default="http://127.0.0.1:8000", help="load: the running server (`make run`).")
        parser.add_argument("--users", type=int, default=10, help="load: concurrent Locust users.")
        parser.add_argument("--seconds", type=int, default=60, help="load: how long the load runs.")

    def handle(self, *args, part, model, tickets, pipeline, threads, questions, prompt_lookup, no_backlog, streams, port, base_url, server_port,
               chunks, scale_tickets, ef_search, host, users, seconds, **options):
        if not 1 <= streams <= 1000:
            raise CommandError(f"--streams must be between 1 and 1000 (got {streams}).")
        say = self.stdout.write
        results = {}
        wanted = part or PARTS
        if "engine" in wanted:
            say(self.style.MIGRATE_HEADING("==> engine"))
            results["engine"] = {
                "embeddings": engine.bench_embeddings(progress=say),
                "generation": engine.bench_generation(model=model, progress=say),
            }
        if "storefront" in wanted:
            say(self.style.MIGRATE_HEADING("==> storefront"))
            results["storefront"] = {
                "search": storefront.bench_search(progress=say),
                "pages": storefront.bench_pages(threads=threads, progress=say),
            }
        if "triage" in wanted:
            say(self.style.MIGRATE_HEADING("==> triage per ticket: old path (one call) vs new path, interleaved"))
            figures = results["triage"] = engine.bench_triage(model=model, tickets=tickets, progress=say)
            for name in ("old", "new"):
                f = figures[name]
                say(f"  {name}: mean {f['mean_s']:.2f} s, p50 {f['p50_s']:.2f} s, p95 {f['p95_s']:.2f} s, "
                    f"{f['mean_generated_tokens']:.0f} tokens generated per ticket, category right {f['category_accuracy']:.2f}")
            say(f"  new / old time per ticket: {figures['new_over_old_time']:.2f} (same machine, same run)")
            if pipeline:
                say(self.style.MIGRATE_HEADING("==> triage pipeline (through the workers)"))
                results["triage_pipeline"] = support.bench_triage_pipeline(tickets=tickets, progress=say)
        if "chat" in wanted:
            say(self.style.MIGRATE_HEADING("==> chat"))
            figures = results["chat"] = bench_chat.bench_chat_compare(model=model, questions=questions, progress=say,
                                                                      prompt_lookup=prompt_lookup)
            say(f"  {'':<16} {'old p50':>9} {'old p95':>9} {'new p50':>9} {'new p95':>9} {'new/old p50':>12}")
            for name, unit in (("prompt_tokens", ""), ("instant_answer", "s"), ("first_token", "s"), ("whole_answer", "s")):
                old, new = figures["old"][name], figures["new"][name]
                ratio = figures["ratios_new_over_old"].get(name)
                say(f"  {name:<16} {old['p50_s'] if old['n'] else '-':>9} {old['p95_s'] if old['n'] else '-':>9} "
                    f"{new['p50_s']:>9} {new['p95_s']:>9} {ratio if ratio is not None else '-':>12}  {unit}")
            say(f"  abstained: old {figures['old']['abstained']}/{figures['old']['n']}, new {figures['new']['abstained']}/"
                f"{figures['new']['n']}; failed: {len(figures['failed'])}")
            if "new_with_prompt_lookup" in figures:
                lookup, ratios = figures["new_with_prompt_lookup"], figures["ratios_lookup_over_new"]
                say(f"  new path with prompt-lookup decoding ({figures['prompt_lookup_tokens']} draft tokens), same questions:")
                for name in ("first_token", "whole_answer"):
                    say(f"  {name:<16} p50 {lookup[name]['p50_s']} s, p95 {lookup[name]['p95_s']} s; "
                        f"lookup / new p50 {ratios[name] if ratios[name] is not None else '-'}")
                say(f"  abstained with lookup: {lookup['abstained']}/{lookup['n']}")
            if not no_backlog:
                say(self.style.MIGRATE_HEADING("==> chat behind a triage backlog (real llm worker)"))
                results["chat_behind_triage"] = bench_chat.bench_chat_behind_triage(tickets=tickets, progress=say)
        if "streams" in wanted:
            say(self.style.MIGRATE_HEADING(f"==> web tier with {streams} open chat streams (real server on 127.0.0.1)"))
            results["streams"] = bench_streams.bench_streams(streams=streams, port=port, progress=say)
        if "scale" in wanted:
            say(self.style.MIGRATE_HEADING(f"==> scale ({chunks} knowledge chunks, {scale_tickets} tickets, own schema)"))
            results["scale"] = bench_scale(chunks=chunks, tickets=scale_tickets, ef_search=ef_search, progress=say)
        if "load" in wanted:
            say(self.style.MIGRATE_HEADING(f"==> load (Locust, {users} users, {seconds} s, against {host})"))
            results["load"] = bench_load(host=host, users=users, seconds=seconds, progress=say)
        if "backends" in wanted:
            say(self.style.MIGRATE_HEADING("==> backends: in-process vs OpenAI-compatible server (same model, same questions)"))
            results["backends"] = backends.bench_backends(model=model, questions=questions, base_url=base_url, port=server_port,
                                                          progress=say)
            backends.print_backends(results["backends"], say)
        say(f"written to {engine.write_bench(results)}")
