"""`{% datatable %}…{% enddatatable %}`: a data table inside its horizontal-scroll wrapper.

Every table sits in `div.table-wrap` so that at 360 px a wide table scrolls inside its card instead
of widening the page; the wrapper is written once, in components/_datatable.html.
"""

from __future__ import annotations

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token, token_kwargs
from django.template.context import Context
from django.template.loader import get_template

register = template.Library()

_OPTIONS = ("class", "wrap")


class DataTableNode(template.Node):
    def __init__(self, nodelist: NodeList, options: dict[str, FilterExpression]) -> None:
        self.nodelist = nodelist
        self.options = options

    def render(self, context: Context) -> str:
        values = {name: expr.resolve(context) for name, expr in self.options.items()}
        return get_template("components/_datatable.html").render(
            {
                "table_class": values.get("class", ""),
                "wrap_class": values.get("wrap", ""),
                "content": self.nodelist.render(context),
            }
        )


@register.tag
def datatable(parser: Parser, token: Token) -> DataTableNode:
    """`{% datatable class="table-compact" wrap="audit-table-wrap" %}` then the table's caption,
    thead and tbody; both options add classes to `table.table` and `div.table-wrap`."""
    bits = token.split_contents()
    options = token_kwargs(bits[1:], parser, support_legacy=False)
    if len(options) != len(bits) - 1 or set(options) - set(_OPTIONS):
        raise template.TemplateSyntaxError(f'{bits[0]} takes only class="…" and wrap="…"')
    nodelist = parser.parse(("enddatatable",))
    parser.delete_first_token()
    return DataTableNode(nodelist, options)
