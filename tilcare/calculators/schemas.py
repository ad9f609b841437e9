"""Output shapes of the calculator API (input schemas live with each calculator)."""

from typing import Any

from ninja import Field, Schema


class CalculationOut(Schema):
    calculator: str = Field(..., description="The calculator's slug")
    headline: str = Field(..., description="The answer in one line, as the page shows it")
    tone: str = Field(..., description="ok, info, warn or danger: how the page colours it")
    result: dict[str, Any] = Field(
        ...,
        description=(
            "The whole calculation: inputs, intermediate values, the result, the formula or "
            "rule, the source, the version and the rounding applied. Decimals are strings; a "
            "quantity is {value, unit}."
        ),
    )


class CalculatorOut(Schema):
    slug: str
    title: str
    group: str
    purpose: str
    endpoint: str
