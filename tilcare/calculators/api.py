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


for _calculator in all_calculators():
    router.post(
        f"/calc/{_calculator.slug}",
        response=CalculationOut,
        summary=_calculator.title,
        description=_calculator.purpose,
        operation_id=f"calc_{_calculator.slug.replace('-', '_')}",
        openapi_extra=(
            {"requestBody": {"content": {"application/json": {"example": _calculator.example}}}}
            if _calculator.example
            else None
        ),
    )(_operation(_calculator))
