"""The PDF of a bilan, with WeasyPrint: cover, key figures, charts (the same SVG as the page), tables, method.

No resource is fetched: the template carries its CSS and the charts are inline SVG.
"""

from django.template.loader import render_to_string

from clausier.reporting.bilans import Bilan


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"Ressource externe refusée dans un bilan PDF : {url}")


def render_pdf(bilan: Bilan) -> bytes:
    from weasyprint import HTML  # imported on use: loading WeasyPrint takes a moment

    html = render_to_string("reporting/bilan_pdf.html", {"bilan": bilan})
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()
