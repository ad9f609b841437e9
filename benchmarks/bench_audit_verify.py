"""Audit chain verification at scale, as a ratio against reading the same rows.

DESIGN.md section 11: "audit chain verification: a million events in a few seconds". This script
writes N chained events straight into a fresh database (as `record_event` would link them), then
times (a) the baseline: reading every row's columns in seq order, and (b) `verify_chain()`, which
reads the same rows and recomputes every hash. It prints both times and their ratio; the ratio
says what the hashing costs on top of the unavoidable read, independent of the machine.

    python benchmarks/bench_audit_verify.py --events 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench python benchmarks/bench_audit_verify.py
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="tilcare-bench-")
    os.environ.setdefault("TILCARE_DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilcare.config.settings.dev")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tilcare.audit import triggers
    from tilcare.audit.hashing import event_hash
    from tilcare.audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
    from tilcare.audit.selectors import _FIELDS, verify_chain

    call_command("migrate", verbosity=0)
    triggers.remove(connection)  # a fresh benchmark database is emptied first
    AuditEvent.objects.all().delete()
    triggers.install(connection)

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    prev = GENESIS_HASH
    batch: list[AuditEvent] = []
    t0 = time.perf_counter()
    for seq in range(1, args.events + 1):
        fields = {
            "seq": seq,
            "occurred_at": start + dt.timedelta(seconds=seq),
            "actor_id": None,
            "actor_label": "Nina Navarro, RN",
            "action": "journey.advance",
            "object_type": "journey.journey",
            "object_id": f"00000000-0000-0000-0000-{seq:012d}",
            "object_repr": f"Journey W1234 26 {seq:06d}",
            "subject_id": f"00000000-0000-0000-0000-{seq:012d}",
            "before_json": '{"stage":"screening"}',
            "after_json": '{"stage":"financial_clearance"}',
            "reason": "",
            "prev_hash": prev,
        }
        fields["hash"] = prev = event_hash(**fields)
        batch.append(AuditEvent(**fields))
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch.clear()
    AuditEvent.objects.bulk_create(batch)
    AuditChainHead.objects.update_or_create(
        id=1, defaults={"last_seq": args.events, "last_hash": prev}
    )
    print(f"wrote {args.events} chained events in {time.perf_counter() - t0:.1f} s")

    t0 = time.perf_counter()
    rows = 0
    for _ in AuditEvent.objects.order_by("seq").values_list(*_FIELDS).iterator(chunk_size=5000):
        rows += 1
    baseline = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = verify_chain()
    verify = time.perf_counter() - t0
    assert report.ok and report.events_checked == args.events, report

    print(f"database: {connection.vendor}")
    print(f"baseline (read {rows} rows):   {baseline:8.2f} s")
    print(f"verify_chain ({rows} events): {verify:8.2f} s")
    print(f"ratio verify / read:          {verify / baseline:8.2f}")
    print(f"projected for 1,000,000 events: {verify * 1_000_000 / rows:6.1f} s")


if __name__ == "__main__":
    main()
