from django.core.management.base import BaseCommand, CommandError

from core.jobs import JobStatus
from support.models import Ticket
from support.selectors.tickets import triage_progress
from support.services.triage import ticket_triage_request, triage_sweep


class Command(BaseCommand):
    help = ("Triage progress, and asking the workers to triage again: failed tickets, given numbers, or all. "
            "Agent corrections are never overwritten.")

    def add_arguments(self, parser):
        parser.add_argument("--status", action="store_true", help="Only print how far triage is.")
        parser.add_argument("--failed", action="store_true", help="Request triage again for every failed ticket.")
        parser.add_argument("--all", action="store_true", help="Request triage again for every ticket (forced).")
        parser.add_argument("--sweep", action="store_true", help="Run the stale-work sweeper once now.")
        parser.add_argument("numbers", nargs="*", type=int, help="Ticket numbers to triage again (forced).")

    def handle(self, *args, status, failed, all, sweep, numbers, **options):
        tickets = Ticket.objects.none()
        if failed:
            tickets = Ticket.objects.filter(ai_status=JobStatus.FAILED)
        if all:
            tickets = Ticket.objects.all()
        if numbers:
            tickets = tickets | Ticket.objects.filter(number__in=numbers)
            missing = set(numbers) - set(Ticket.objects.filter(number__in=numbers).values_list("number", flat=True))
            if missing:
                raise CommandError(f"No ticket numbered {', '.join(map(str, sorted(missing)))}.")
        if not status:
            count = 0
            for ticket in tickets.distinct():
                ticket_triage_request(ticket, force=True)
                count += 1
            if count:
                self.stdout.write(f"triage requested for {count} ticket{'s' if count != 1 else ''}")
        if sweep:
            self.stdout.write(f"sweeper: {triage_sweep()}")
        progress = triage_progress()
        self.stdout.write(f"AI triage: {progress.done} of {progress.total} done, {progress.waiting} waiting, {progress.failed} failed")
