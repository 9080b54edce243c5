"""Filing tools: documents kept in the principal's folder scheme, with metadata, and found again.

Every document lands at ``<principal directory>/files/<type>/<counterparty>/<year>/<name>``.
The type is one of a fixed list (contract, invoice, receipt, correspondence,
report, legal, medical, travel, hr, tax, other) plus the filing categories of
the principal's industry pack, if any; the counterparty folder is a slug of the
organisation or person; the year comes from the document's date.

``file_document`` and ``refile_document`` are ``write`` tools: the approval
card shows the exact destination path, the metadata and any warnings (the same
bytes already filed, a PDF whose text cannot be read). Filing never loses an
original: a file from a path is copied, a mail attachment stays in the mailbox,
and there is no tool that deletes a filed document. The text of each document
(PDF, text files, notes, .eml bodies) is kept with its record and added to the
principal's memory, so ``find_documents`` finds it by words and by meaning as
well as by type, counterparty, year, month and tags.

- :mod:`tools.filing.sources`: reading a document (from mail, a path or a note), names and types;
- :mod:`tools.filing.cabinet`: filing and refiling it (file_document, refile_document);
- :mod:`tools.filing.search`: finding it again (find_documents, list_filed, show_document).
"""

from __future__ import annotations

from tools.filing.cabinet import file_document, refile_document
from tools.filing.search import find_documents, list_filed, show_document
from tools.filing.sources import (
    BASE_TYPES,
    MAX_TEXT,
    extract_text,
    filing_types,
    pack_categories,
    safe_name,
    slug,
)

__all__ = [
    "BASE_TYPES",
    "MAX_TEXT",
    "slug",
    "safe_name",
    "pack_categories",
    "filing_types",
    "extract_text",
    "file_document",
    "refile_document",
    "find_documents",
    "list_filed",
    "show_document",
]
