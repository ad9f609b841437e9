"""My tasks: the open work of the user's role at their center, overdue first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tilcare.accounts.choices import Role
from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.core.policy import require
from tilcare.core.timeutil import local_today
from tilcare.journey import policies, selectors
from tilcare.journey.choices import TaskStatus
from tilcare.journey.models import Task
from tilcare.journey.views.common import local_time, user_of, user_time_zone

# Done tasks shown when the toggle is on: the most recent ones (the history is in the audit trail).
DONE_LIMIT = 50


@dataclass(frozen=True)
class TaskListRow:
    task: Task
    overdue: bool
    days_overdue: int
    due_today: bool
    can_complete: bool


def task_row(user: User, task: Task, today: dt.date) -> TaskListRow:
    days_late = (today - task.due_on).days
    return TaskListRow(
        task,
        task.is_overdue(today),
        days_late if days_late > 0 else 0,
        task.status == TaskStatus.OPEN and task.due_on == today,
        policies.can_complete_task(user, task),
    )


@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    require(user.has_perm_code(Perm.COMPLETE_TASK), "Only the center's care team has tasks here.")
    tz = user_time_zone(user)
    today = local_today(tz)
    show_done = request.GET.get("done") == "1"
    tasks = selectors.tasks_for_user(user, include_done=show_done).select_related(
        "journey__center", "completed_by"
    )
    groups: dict[str, list[TaskListRow]] = {"overdue": [], "today": [], "upcoming": [], "done": []}
    done: list[Task] = []
    for task in tasks:
        if task.status != TaskStatus.OPEN:
            done.append(task)
            continue
        row = task_row(user, task, today)
        key = "overdue" if row.overdue else "today" if row.due_today else "upcoming"
        groups[key].append(row)
    done.sort(key=lambda t: t.completed_at or t.updated_at, reverse=True)
    groups["done"] = [task_row(user, t, today) for t in done[:DONE_LIMIT]]
    sections: list[dict[str, Any]] = [
        {"code": "overdue", "label": "Overdue", "rows": groups["overdue"]},
        {"code": "today", "label": "Due today", "rows": groups["today"]},
        {"code": "upcoming", "label": "Upcoming", "rows": groups["upcoming"]},
    ]
    if show_done:
        sections.append(
            {
                "code": "done",
                "label": f"Done and cancelled (latest {DONE_LIMIT})",
                "rows": groups["done"],
            }
        )
    open_count = sum(len(groups[k]) for k in ("overdue", "today", "upcoming"))
    with local_time(tz):
        return render(
            request,
            "journey/task_list.html",
            {
                "page_title": "My tasks",
                "sections": sections,
                "open_count": open_count,
                "overdue_count": len(groups["overdue"]),
                "show_done": show_done,
                "today": today,
                "identity": user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY),
                "all_roles": user.role == Role.NAVIGATOR,
                "next_url": request.get_full_path(),
            },
        )
