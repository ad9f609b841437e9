"""`/api/v1/calc/<slug>`: one stateless POST per calculator, JSON in and out.

Each operation is generated from the calculator's declaration, so the OpenAPI document shows its
own request schema. Bad input is a 422 with messages by field, whether pydantic refused the shape
or the clinical core refused the value.

(No `from __future__ import annotations` in this module: ninja reads the operations' parameter
annotations as objects when the routes are built.)
"""

import inspect
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from ninja import Body, Router

from tilcare.calculators import policies
from tilcare.calculators.registry import Calculator, all_calculators, execute, outcome_json
from tilcare.calculators.schemas import CalculationOut, CalculatorOut
from tilcare.core.api_support import caller
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require

router = Router(tags=["calculators"])

DENIED = "Your role may not use this calculator."


@router.get("/calc/", response=list[CalculatorOut], summary="Calculators you may use")
def list_calculators(request: HttpRequest) -> list[dict[str, str]]:
    user = caller(request)
    return [
        {
            "slug": calc.slug,
            "title": calc.title,
            "group": calc.group,
            "purpose": calc.purpose,
            "endpoint": f"/api/v1/calc/{calc.slug}",
        }
        for calc in all_calculators()
        if policies.can_use_calculator(user, calc)
    ]


def _operation(calculator: Calculator) -> Callable[..., dict[str, Any]]:
    def operation(request: HttpRequest, payload: Any) -> dict[str, Any]:
        require(policies.can_use_calculator(caller(request), calculator), DENIED)
        return outcome_json(calculator, execute(calculator, payload))

    # ninja builds the request schema from the signature; give it this calculator's schema.
    operation.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD),
            inspect.Parameter(
                "payload",
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=calculator.input_schema,
                default=Body(...),
            ),
        ]
    )
    operation.__name__ = f"calc_{calculator.slug.replace('-', '_')}"
    return operation


NEEDS_CENTER_SETTINGS = (
    " This calculation needs your center's protocol settings, which have no default: send them "
    "with the patient's values. Without them it is refused (422), naming each setting and who "
    "decides it; so the documentation shows no example of it."
)


def _needs_center_settings(calculator: Calculator) -> bool:
    """Whether the calculator's example is refused only for the center settings it leaves out.

    Every example the OpenAPI document shows must be a request that succeeds; a protocol
    calculation's example carries the patient's values but, rightly, no center settings (they
    have no default anywhere, not even in an example). Any other refusal of an example is left
    for the document's example test to report.
    """
    if not calculator.example:
        return False
    try:
        execute(calculator, calculator.input_schema.model_validate(calculator.example))
    except InvalidInput as refused:
        messages = [message for field in refused.errors.values() for message in field]
        return bool(messages) and all(message.startswith("Set '") for message in messages)
    except Exception:
        # Any other failure is not this function's to judge, and must not stop the API from
        # starting: the example stays in the document, whose example test then reports it.
        return False
    return False


def _documentation(calculator: Calculator) -> tuple[str, dict[str, Any] | None]:
    """(description, openapi_extra) of the calculator's operation."""
    if _needs_center_settings(calculator):
        return calculator.purpose + NEEDS_CENTER_SETTINGS, None
    if not calculator.example:
        return calculator.purpose, None
    example = {"requestBody": {"content": {"application/json": {"example": calculator.example}}}}
    return calculator.purpose, example


for _calculator in all_calculators():
    _description, _extra = _documentation(_calculator)
    router.post(
        f"/calc/{_calculator.slug}",
        response=CalculationOut,
        summary=_calculator.title,
        description=_description,
        operation_id=f"calc_{_calculator.slug.replace('-', '_')}",
        openapi_extra=_extra,
    )(_operation(_calculator))
