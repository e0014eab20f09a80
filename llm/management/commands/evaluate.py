from django.core.management.base import BaseCommand

from llm.evaluation import runner

TASKS = ["head", "triage", "summaries", "retrieval", "answers", "ask_data"]


class Command(BaseCommand):
    help = "Run the SLM tasks on the labelled evaluation sets; print tables; write var/eval/latest.json."

    def add_arguments(self, parser):
        parser.add_argument("--task", action="append", choices=TASKS, help="Only these tasks (repeatable).")
        parser.add_argument("--limit", type=int, default=None, help="Only the first N items of each set (quick runs).")
        parser.add_argument("--model", default=None, help="Generative model (default: LLM_MODEL).")
        parser.add_argument("--split", choices=["tune", "holdout"], default=None,
                            help="answers: only this part of the set (default: both, reported separately).")
        parser.add_argument("--ids", default="", help="answers: only these rows (comma-separated ids, e.g. ans-003,ans-024).")
        parser.add_argument("--no-head", action="store_true", help="Triage with the SLM alone (no trained head).")
        parser.add_argument("--sample-tickets", action="store_true",
                            help="ask_data: first add sample tickets and chats when the database has no tickets.")

    def handle(self, *args, task, limit, model, split, ids, no_head, sample_tickets, **options):
        say = self.stdout.write
        results = {}
        for name in task or TASKS:
            say(self.style.MIGRATE_HEADING(f"==> {name}"))
            if name == "head":
                results["category_head"] = runner.evaluate_head(progress=say)
            elif name == "triage":
                results["triage"] = runner.evaluate_triage(limit=limit, model=model, use_head=not no_head, progress=say)
            elif name == "summaries":
                results["summaries"] = runner.evaluate_summaries(limit=limit, model=model, progress=say)
            elif name == "retrieval":
                results["retrieval"] = runner.evaluate_retrieval(limit=limit, progress=say)
            elif name == "answers":
                from llm.evaluation import answers

                results["answers"] = answers.evaluate_answers(limit=limit, model=model, split=split, progress=say,
                                                             ids=[i.strip() for i in ids.split(",") if i.strip()] or None)
            elif name == "ask_data":
                from llm.evaluation import ask_data

                if sample_tickets:
                    say("  " + ask_data.sample_support_data_ensure())
                results["ask_data"] = ask_data.evaluate_ask_data(limit=limit, model=model, progress=say)
        path = runner.write_results(results)
        self._print(results)
        say(f"\nwritten to {path}")

    def _print(self, results: dict) -> None:
        say = self.stdout.write
        say("")
        for key, figures in results.items():
            say(self.style.SUCCESS(key))
            if "skipped" in figures:
                say(f"  skipped: {figures['skipped']}")
                continue
            if key == "triage":
                for field in ("category", "sentiment", "urgency"):
                    report = figures[field]
                    extra = "".join(f"  {k} {report[k]:.2f}" for k in ("exact", "within_one") if k in report)
                    say(f"  {field:<10} accuracy {report['accuracy']:.2f}  macro-F1 {report['macro_f1']:.2f}{extra}  (n={report['n']})")
                    self._confusion(report)
                say(f"  language   accuracy {figures['language_accuracy']:.2f}")
                say(f"  latency    p50 {figures['latency']['p50_s']:.2f} s  p95 {figures['latency']['p95_s']:.2f} s  errors {figures['errors']}")
            elif key == "ask_data":
                say(f"  execution accuracy {figures['execution_accuracy']:.2f}  ({figures['correct']}/{figures['n']} correct, "
                    f"{figures['wrong']} wrong, {figures['refused']} refused, {figures['failed']} failed in the database, "
                    f"{figures['errors']} model errors; {figures['model']})")
                say(f"  latency    p50 {figures['latency']['p50_s']:.2f} s  p95 {figures['latency']['p95_s']:.2f} s")
            elif key == "retrieval":
                for setting in ("question_only", "from_product_page"):
                    f = figures[setting]
                    say(f"  {setting:<18} document recall@{figures['k']} {f['document_recall_at_' + str(figures['k'])]:.2f}  "
                        f"page recall@{figures['k']} {f['page_recall_at_' + str(figures['k'])]:.2f}  "
                        f"p95 {f['latency']['p95_s'] * 1000:.0f} ms  (n={figures['n']}, misses: {', '.join(f['misses']) or 'none'})")
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
