"""`{% datatable %}` puts a table in its scroll wrapper, with the classes a page gives it."""

from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError


def render(source: str, **context: object) -> str:
    html = Template("{% load datatable %}" + source).render(Context(context))
    return " ".join(html.split())


def test_a_plain_table_sits_in_the_wrapper() -> None:
    html = render(
        "{% datatable %}<tbody><tr><td>{{ cell }}</td></tr></tbody>{% enddatatable %}", cell="<b>"
    )

    assert html == (
        '<div class="table-wrap"> <table class="table"><tbody><tr><td>&lt;b&gt;</td></tr></tbody>'
        "</table> </div>"
    )


def test_classes_go_to_the_table_and_to_the_wrapper() -> None:
    html = render(
        '{% datatable class="table-compact" wrap=extra %}{% enddatatable %}',
        extra="audit-table-wrap",
    )

    assert html.startswith(
        '<div class="table-wrap audit-table-wrap"> <table class="table table-compact">'
    )


def test_an_unknown_option_is_refused() -> None:
    with pytest.raises(TemplateSyntaxError, match="takes only"):
        render('{% datatable id="x" %}{% enddatatable %}')
