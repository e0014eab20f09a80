from django.core.management.base import BaseCommand

from evaluation import answers, runner

TASKS = ["head", "triage", "summaries", "products", "retrieval", "search", "answers", "ask_data"]


class Command(BaseCommand):
    help = "Run the SLM tasks on the labelled evaluation sets; print tables; write var/eval/latest.json."

    def add_arguments(self, parser):
        parser.add_argument("--task", action="append", choices=TASKS, help="Only these tasks (repeatable).")
        parser.add_argument("--limit", type=int, default=None, help="Only the first N items of each set (quick runs).")
        parser.add_argument("--model", default=None, help="Generative model (default: LLM_MODEL).")
        parser.add_argument("--no-head", action="store_true", help="Triage with the SLM alone (no trained head).")
        parser.add_argument("--ids", default="", help="answers: only these rows (comma-separated ids, e.g. ans-003,ans-024).")
        parser.add_argument("--split", choices=["tune", "holdout"], default=None,
                            help="triage, search and answers: only this split of each labelled set (tune while developing; holdout once).")
        parser.add_argument("--set", dest="sets", action="append", choices=["default", "types"],
                            help="triage: only these labelled sets (repeatable).")
        parser.add_argument("--tickets", default=None,
                            help="triage: measure against a labelled ticket file in the import_tickets format instead "
                                 "(only triage runs unless --task names more).")
        parser.add_argument("--sample-tickets", action="store_true",
                            help="ask_data: first add sample tickets and chats when the database has no tickets.")

    def handle(self, *args, task, limit, model, no_head, sample_tickets, split, sets, tickets, ids, **options):
        say = self.stdout.write
        results = {}
        for name in task or (["triage"] if tickets else TASKS):
            say(self.style.MIGRATE_HEADING(f"==> {name}"))
            if name == "head":
                results["category_head"] = runner.evaluate_head(progress=say)
            elif name == "triage":
                if tickets:
                    results["triage"] = {"tickets": runner.evaluate_ticket_file(path=tickets, limit=limit, model=model,
                                                                                use_head=not no_head, progress=say)}
                else:
                    results["triage"] = runner.evaluate_triage(limit=limit, model=model, use_head=not no_head, progress=say,
                                                               split=split, sets=sets)
            elif name == "summaries":
                results["summaries"] = runner.evaluate_summaries(limit=limit, model=model, progress=say)
            elif name == "products":
                results["products"] = runner.evaluate_products(progress=say)
            elif name == "retrieval":
                results["retrieval"] = runner.evaluate_retrieval(limit=limit, progress=say)
            elif name == "search":
                from evaluation.search import evaluate_search

                results["search"] = evaluate_search(limit=limit, split=split, progress=say)
                if task and "retrieval" not in task:  # the chat's knowledge set, reported with product search
                    results["retrieval"] = runner.evaluate_retrieval(limit=limit, progress=say)
            elif name == "answers":
                results["answers"] = answers.evaluate_answers(limit=limit, model=model, split=split, progress=say,
                                                             ids=[i.strip() for i in ids.split(",") if i.strip()] or None)
            elif name == "ask_data":
                from evaluation import ask_data

                if sample_tickets:
                    say("  " + ask_data.sample_support_data_ensure())
                results["ask_data"] = ask_data.evaluate_ask_data(limit=limit, model=model, progress=say)
        path = runner.write_results(results)
        self._print(results)
        say(f"\nwritten to {path}")

    def _triage_set(self, name: str, figures: dict) -> None:
        say = self.stdout.write
        say(f"  set {name!r}: categories {', '.join(figures['categories'])}; p50 {figures['latency']['p50_s']:.2f} s "
            f"per ticket; errors {figures['errors']}")
        say("  calibrations: " + "; ".join(f"{task} {used}" for task, used in figures["calibrations"].items()))
        for split, f in figures["splits"].items():
            c = f["category"]
            say(f"    [{split}] category  accuracy {c['accuracy']:.2f}  macro-F1 {c['macro_f1']:.2f}  (n={c['n']}; "
                f"the uncalibrated SLM alone {c['accuracy_uncalibrated_slm']:.2f})")
            self._confusion(c)
            say("      reliability: " + "  ".join(f"{b['band']}: {b['accuracy'] if b['accuracy'] is not None else '-'}"
                                                   f" (n={b['n']})" for b in c["reliability"]))
            if "sentiment" in f:
                s = f["sentiment"]
                say(f"    [{split}] sentiment exact {s['exact']:.2f} (uncalibrated {s['exact_uncalibrated']:.2f})  within one "
                    f"{s['within_one']:.2f}  macro-F1 {s['macro_f1']:.2f}  Spearman(score, level) {s['spearman_score_vs_level']}")
            if "urgency" in f:
                u = f["urgency"]
                say(f"    [{split}] urgency exact {u['exact']:.2f}  within one {u['within_one']:.2f}  predicted "
                    + ", ".join(f"{level} {count}" for level, count in u["predicted"].items()) + f"  (n={u['n']})")
            if "spearman_score_vs_satisfaction" in f:
                say(f"    [{split}] Spearman(sentiment score, satisfaction) {f['spearman_score_vs_satisfaction']}")

    def _print(self, results: dict) -> None:
        say = self.stdout.write
        say("")
        for key, figures in results.items():
            say(self.style.SUCCESS(key))
            if "skipped" in figures:
                say(f"  skipped: {figures['skipped']}")
                continue
            if key == "triage":
                for name, one_set in figures.items():
                    self._triage_set(name, one_set)
            elif key == "ask_data":
                say(f"  execution accuracy {figures['execution_accuracy']:.2f}  ({figures['correct']}/{figures['n']} correct, "
                    f"{figures['wrong']} wrong, {figures['refused']} refused, {figures['failed']} failed in the database, "
                    f"{figures['errors']} model errors; {figures['model']})")
                say(f"  latency    p50 {figures['latency']['p50_s']:.2f} s  p95 {figures['latency']['p95_s']:.2f} s")
            elif key == "products":
                for name, f in figures.items():
                    say(f"  {name:<12} top-1 {f['top1']:.3f}  empty {f['empty']:.3f}  (n={f['n']}); named when none: "
                        f"{f['named_when_none']}")
            elif key == "retrieval":
                for setting in ("question_only", "from_product_page"):
                    f, k = figures[setting], figures["k"]
                    say(f"  {setting:<18} document recall@{figures['k']} {f['document_recall_at_' + str(figures['k'])]:.2f}  "
                        f"page recall@{figures['k']} {f['page_recall_at_' + str(figures['k'])]:.2f}  "
                        f"passages {f.get('passages_mean', k)}  p95 {f['latency']['p95_s'] * 1000:.0f} ms  (n={figures['n']}, misses: {', '.join(f['misses']) or 'none'})")
            elif key == "search":
                for style in ("need", "name"):
                    say(f"  {style}-style queries (detected right {figures[style]['style_detected_right']:.2f})")
                    for part in ("tune", "holdout", "all"):
                        f = figures[style][part]
                        if f["n"]:
                            say(f"    {part:<8} precision@1 {f['precision_at_1']:.2f}  recall@5 {f['recall_at_5']:.2f}  "
                                f"nDCG@10 {f['ndcg_at_10']:.2f}  all shown relevant {f['all_shown_relevant']:.2f}  "
                                f"shown: precision {f['shown_precision']:.2f} recall {f['shown_recall']:.2f} "
                                f"median {f['shown_median']}  (n={f['n']})")
                say(f"  latency    p50 {figures['latency']['p50_s'] * 1000:.0f} ms  p95 {figures['latency']['p95_s'] * 1000:.0f} ms")
                for miss in figures["misses"]:
                    say(f"    {miss}")
            elif key == "answers":
                for part in ("tune", "holdout"):
                    if part not in figures:
                        continue
                    f = figures[part]
                    say(f"  {part} (n={f['n']}: {f['answerable']} answerable, {f['unanswerable']} unanswerable, "
                        f"{f['follow_ups']} follow-ups)")
                    for name in ("fact_recall", "follow_up_fact_recall", "citation_right_document_and_page",
                                 "correct_abstention", "false_abstention", "answers_with_ungrounded_number", "empty_answers",
                                 "sentences_removed_by_checks"):
                        say(f"    {name:<34} {f[name]}")
                    for name in ("prompt_tokens",):
                        say(f"    {name:<34} p50 {f[name]['p50_s']:.0f}  p95 {f[name]['p95_s']:.0f}")
                    for name in ("first_token", "first_sentence", "whole_answer"):
                        say(f"    {name:<34} p50 {f[name]['p50_s']:.2f} s  p95 {f[name]['p95_s']:.2f} s")
                    say(f"    misses: {', '.join(f['misses']) or 'none'}")
                    say(f"    citation misses: {', '.join(f['citation_misses']) or 'none'}")
                say(f"  errors {figures['errors']}")
            elif key == "category_head":
                say(f"  accuracy {figures['accuracy']:.2f}  macro-F1 {figures['macro_f1']:.2f}  (head v{figures['head_version']}, "
                    f"{figures['seconds_per_text'] * 1000:.1f} ms/text, n={figures['n']})")
                self._confusion(figures)
            else:
                for name, value in figures.items():
                    if isinstance(value, dict):
                        say(f"  {name:<30} p50 {value['p50_s']:.2f} s  p95 {value['p95_s']:.2f} s  (n={value['n']})")
                    else:
                        say(f"  {name:<30} {value}")

    def _confusion(self, report: dict) -> None:
        labels = report["labels"]
        short = [label[:6] for label in labels]
        self.stdout.write("    gold \\ predicted " + " ".join(f"{s:>6}" for s in short))
        for label, row in zip(labels, report["confusion"]):
            self.stdout.write(f"    {label[:18]:<18} " + " ".join(f"{n:>6}" for n in row))
