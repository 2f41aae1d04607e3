"""PDFs read back by the tests, with pypdf (pure Python: no system program to install).

`pdf_text(data)` is the text of every page, in order, pages separated by a form feed; `pdf_pages(data)` is the
number of pages. Both check first that `data` is a PDF. pypdf's extraction follows the drawing order of the
text, not the columns of the page: assert on words and phrases, not on their position.
"""

import io

from pypdf import PdfReader


def _reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-"), data[:16]
    return PdfReader(io.BytesIO(data), strict=True)


def pdf_text(data: bytes) -> str:
    return "\f".join(page.extract_text() for page in _reader(data).pages)


def pdf_pages(data: bytes) -> int:
    return len(_reader(data).pages)
