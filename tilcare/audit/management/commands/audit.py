"""`tilcare audit verify` and `tilcare audit checkpoint`.

`verify` recomputes the audit chain, checks it against the signed checkpoints kept outside the
database, and matches every regulated record with its latest event; it names the first problem
and exits non-zero. `checkpoint` verifies, then writes a signed checkpoint of the chain's end
(run it on a schedule, see docs/deployment.md). `baseline`, once after each upgrade that brings
a kind of record under the row digests, vouches for the records of that kind kept before it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tilcare.audit.checkpoints import (
    CheckpointRefused,
    checkpoint_dir,
    configured_checkpoints,
    write_checkpoint,
)
from tilcare.audit.selectors import verify_chain
from tilcare.audit.services import record_baseline
from tilcare.core.errors import InvalidInput

NO_CHECKPOINT = (
    "Note: no checkpoint configured (TILCARE_AUDIT_CHECKPOINT_DIR is not set), so a chain "
    "recomputed from an earlier event, or cut short, with its end moved to match, would not "
    "be noticed.\n"
)


class Command(BaseCommand):
    help = (
        "Audit trail tools. `verify` recomputes the hash chain, checks it against the signed "
        "checkpoints and matches every regulated record with the trail; it exits non-zero if "
        "anything is wrong. `checkpoint` writes a signed checkpoint of the chain's end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["verify", "checkpoint", "baseline"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "checkpoint":
            self._checkpoint()
        elif options["action"] == "baseline":
            self._baseline()
        else:
            self._verify()

    def _baseline(self) -> None:
        # Only on a chain that verifies: a baseline must not vouch for damage already done.
        report = verify_chain(records=False)
        if not report.ok:
            raise CommandError(f"No baseline: the audit chain does not verify ({report.problem}).")
        if report.events_checked == 0:
            # Records without a trail are what an emptied trail looks like: never vouch for them.
            raise CommandError("No baseline: the audit trail holds no events.")
        try:
            written = record_baseline()
        except InvalidInput as refused:
            raise CommandError(" ".join(refused.errors["baseline"])) from refused
        self.stdout.write(
            self.style.SUCCESS(
                f"Baseline recorded: {written} events vouch for the records kept before."
            )
        )

    def _verify(self) -> None:
        try:
            checkpoints = configured_checkpoints()
        except CheckpointRefused as refused:
            raise CommandError(f"Audit chain NOT VERIFIED: {refused}") from refused
        report = verify_chain(checkpoints=checkpoints or ())
        if not report.ok:
            raise CommandError(
                f"Audit chain BROKEN after {report.events_checked} good events: {report.problem}."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.events_checked} events verified.")
        )
        if checkpoints is None:
            self.stderr.write(NO_CHECKPOINT, ending="")
        elif not checkpoints:
            note = f"Note: no checkpoint written yet in {checkpoint_dir()}.\n"
            self.stderr.write(note, ending="")
        else:
            latest = checkpoints[-1]
            self.stdout.write(
                f"It matches {len(checkpoints)} signed checkpoint(s); the latest, "
                f"{latest.name} (written {latest.written_at}), recorded event #{latest.seq}."
            )

    def _checkpoint(self) -> None:
        try:
            path, report = write_checkpoint(timezone.now())
        except CheckpointRefused as refused:
            raise CommandError(str(refused)) from refused
        self.stdout.write(
            self.style.SUCCESS(
                f"Checkpoint written: {path} (event #{report.events_checked}, "
                f"{report.rows_checked} records)."
            )
        )
