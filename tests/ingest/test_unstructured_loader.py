"""UnstructuredLoader on real files made here: HTML, DOCX (python-docx), PPTX (python-pptx) and
PDF (content streams written with pikepdf), with the network blocked as in every test."""

import os
from pathlib import Path

import docx
import pikepdf
import pptx
import pytest

from ingest.discovery import discover
from ingest.documents import LoadError, ParsedDocument
from ingest.loaders import LoadContext
from ingest.loaders.unstructured_kb import UnstructuredLoader, decode_html

HTML = """<!DOCTYPE html>
<html><head><meta charset="{charset}"><title>Exporting invoices</title>
<script>var tracking = "not text";</script></head>
<body><nav><ul><li><a href="/">Help Center</a></li></ul></nav>
<h1>Exporting invoices</h1>
<p>You can export invoices as CSV files. Café owners love it — “really”.</p>
<h2 id="export-steps">Steps</h2>
<ol><li>Open the Invoices page.</li><li>Click <b>Export</b> and pick a format:
<ul><li>CSV for spreadsheets</li><li>PDF for printing</li></ul></li>
<li>Click Download.</li></ol>
<h3>Formats</h3>
<table><tr><th>Format</th><th>Opens in</th></tr><tr><td>CSV</td><td>Excel</td></tr>
<tr><td>PDF</td><td>Any viewer</td></tr></table>
<h2>If the file is empty</h2>
<ul><li>Check the date filter.</li><li>Reload the page.</li></ul>
</body></html>
"""
URL = "https://help.example.com/articles/export"


def context(root: Path, audience: str = "public") -> LoadContext:
    return LoadContext(root=root, default_audience=audience)


def load(path: Path) -> ParsedDocument:
    [doc] = UnstructuredLoader().load(path, context(path.parent))
    return doc


def sidecar(path: Path, text: str) -> None:
    path.with_name(path.name + ".meta.yaml").write_text(text)


def write_pdf(
    path: Path,
    pages: list[list[tuple[int, str]]],
    *,
    header: str | None = None,
    title: str | None = None,
    password: str | None = None,
) -> Path:
    """A real PDF: Helvetica text lines (font size, text) from the top of each page down."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    for lines in pages:
        ops = [f"BT /F1 9 Tf 72 770 Td ({header}) Tj ET"] if header else []
        y = 700
        for size, text in lines:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"BT /F1 {size} Tf 72 {y} Td ({escaped}) Tj ET")
            y -= size + 12
        page = pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 612, 792],
            Contents=pdf.make_stream("\n".join(ops).encode("latin-1")),
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
        )
        pdf.pages.append(pikepdf.Page(page))
    if title:
        pdf.docinfo["/Title"] = title
    encryption = pikepdf.Encryption(owner=password, user=password) if password else False
    pdf.save(path, encryption=encryption)
    return path


ARTICLE_PAGES = [
    [
        (20, "Exporting invoices"),
        (11, "You can export invoices as CSV or PDF files from the Invoices page."),
        (15, "Steps"),
        (11, "1. Open the Invoices page."),
        (11, "2. Click Export and choose a format."),
    ],
    [
        (15, "Troubleshooting"),
        (11, "Most export problems come from filters."),
        (13, "Empty exports"),
        (11, "If the export is empty, check the date filter on the Invoices page."),
    ],
]


def test_html_sections_keep_heading_paths_anchors_lists_and_tables(tmp_path: Path) -> None:
    page = tmp_path / "export.html"
    page.write_text(HTML.format(charset="utf-8"), encoding="utf-8")
    sidecar(page, f"url: {URL}\naudience: partner\ntags: [billing]\n")
    doc = load(page)
    assert doc.source_type == "kb"
    assert doc.title == "Exporting invoices"
    assert doc.metadata["audience"] == "partner" and doc.metadata["tags"] == ["billing"]
    assert [s.heading_path for s in doc.sections] == [
        [],
        ["Steps"],
        ["Steps", "Formats"],
        ["If the file is empty"],
    ]
    intro, steps, formats, empty = doc.sections
    assert intro.url == URL
    assert intro.text == "You can export invoices as CSV files. Café owners love it — “really”."
    assert steps.url == f"{URL}#export-steps"  # the page's own heading id
    assert steps.text.splitlines() == [
        "1. Open the Invoices page.",
        "2. Click Export and pick a format:",
        "   - CSV for spreadsheets",
        "   - PDF for printing",
        "3. Click Download.",
    ]
    assert formats.url == f"{URL}#formats"
    assert formats.text.splitlines() == ["Format | Opens in", "CSV | Excel", "PDF | Any viewer"]
    assert empty.url == f"{URL}#if-the-file-is-empty"
    assert empty.text == "- Check the date filter.\n- Reload the page."
    assert "tracking" not in " ".join(s.text for s in doc.sections)
    assert "Help Center" not in " ".join(s.text for s in doc.sections)


@pytest.mark.parametrize("charset", ["windows-1252", "iso-8859-1", "utf-8"])
def test_html_in_windows_1252_is_decoded_whatever_it_declares(tmp_path: Path, charset: str) -> None:
    page = tmp_path / "legacy.htm"
    page.write_bytes(HTML.format(charset=charset).encode("cp1252"))
    intro = load(page).sections[0]
    assert intro.text == "You can export invoices as CSV files. Café owners love it — “really”."


def test_decode_html_honours_boms_and_declarations() -> None:
    assert decode_html("\ufeff<p>é</p>".encode()) == "<p>é</p>"
    assert decode_html("<p>é</p>".encode("utf-16")) == "<p>é</p>"
    koi8 = '<meta charset="koi8-r"><p>Привет</p>'
    assert decode_html(koi8.encode("koi8-r")) == koi8
    assert decode_html(b"<p>\x81</p>") == "<p>\x81</p>"  # undefined in cp1252: Latin-1


def test_html_title_falls_back_to_first_h1_and_front_matter_is_read(tmp_path: Path) -> None:
    page = tmp_path / "reminders.html"
    page.write_text(
        "---\naudience: internal\nurl: https://help.example.com/reminders\n---\n"
        "<h1>Payment reminders</h1><p>Reminders go out three days before the due date.</p>"
    )
    doc = load(page)
    assert doc.title == "Payment reminders"
    assert doc.metadata["audience"] == "internal"
    assert doc.sections[0].heading_path == []
    assert doc.sections[0].url == "https://help.example.com/reminders"


def test_docx_headings_lists_and_tables(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("Setting up taxes", level=1)
    document.add_paragraph("Taxes are added to each invoice line.")
    document.add_heading("Add a tax rate", level=2)
    document.add_paragraph("Open Settings > Taxes.", style="List Number")
    document.add_paragraph("Click Add rate.", style="List Number")
    document.add_heading("Regional rules", level=3)
    document.add_paragraph("EU sellers charge VAT.", style="List Bullet")
    document.add_paragraph("US sellers charge sales tax.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    for cell, text in zip(table._cells, ["Region", "Tax", "EU", "VAT"], strict=True):
        cell.text = text
    path = tmp_path / "taxes.docx"
    document.save(str(path))
    sidecar(path, "url: https://help.example.com/taxes\n")
    doc = load(path)
    assert doc.title == "Setting up taxes"
    intro, steps, regional = doc.sections
    assert intro.heading_path == [] and intro.text == "Taxes are added to each invoice line."
    assert steps.heading_path == ["Add a tax rate"]
    assert steps.url == "https://help.example.com/taxes#add-a-tax-rate"
    assert steps.text == "1. Open Settings > Taxes.\n2. Click Add rate."
    assert regional.heading_path == ["Add a tax rate", "Regional rules"]
    assert regional.text == (
        "- EU sellers charge VAT.\n- US sellers charge sales tax.\n\nRegion | Tax\nEU | VAT"
    )


def test_pptx_slides_become_sections_with_bullets(tmp_path: Path) -> None:
    deck = pptx.Presentation()
    cover = deck.slides.add_slide(deck.slide_layouts[0])
    cover.shapes.title.text = "Getting paid faster"
    cover.placeholders[1].text = "Ledgerly customer webinar"
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Turn on reminders"
    body = slide.placeholders[1].text_frame
    body.text = "Open Settings > Reminders"
    for text, level in [("Pick the days", 0), ("Three days before is common", 1)]:
        paragraph = body.add_paragraph()
        paragraph.text, paragraph.level = text, level
    path = tmp_path / "webinar-deck.pptx"
    deck.save(str(path))
    doc = load(path)
    assert doc.title == "Getting paid faster"
    cover_section, reminders = doc.sections
    assert cover_section.meta == {"slide": 1} and cover_section.heading_path == []
    assert cover_section.text == "- Ledgerly customer webinar"
    assert reminders.meta == {"slide": 2}
    assert reminders.heading_path == ["Turn on reminders"]
    assert reminders.text.splitlines() == [
        "- Open Settings > Reminders",
        "- Pick the days",
        "   - Three days before is common",
    ]


def test_pdf_sections_link_their_page_and_drop_running_headers(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "export.pdf", ARTICLE_PAGES, header="Ledgerly Help Center")
    sidecar(path, "url: https://help.example.com/export.pdf\n")
    doc = load(path)
    assert doc.title == "Exporting invoices"
    # Headings come from type size: 20 pt is the title, 15 pt a section, 13 pt a subsection.
    intro, steps, trouble, empty = doc.sections
    assert intro.url == "https://help.example.com/export.pdf#page=1"
    assert steps.heading_path == ["Steps"] and steps.meta == {"page": 1}
    assert steps.text == "1. Open the Invoices page.\n2. Click Export and choose a format."
    assert trouble.heading_path == ["Troubleshooting"]
    assert trouble.url == "https://help.example.com/export.pdf#page=2"
    assert empty.heading_path == ["Troubleshooting", "Empty exports"]
    assert empty.meta == {"page": 2}
    assert "Ledgerly Help Center" not in " ".join(s.text for s in doc.sections)


def test_pdf_title_from_document_info_when_it_starts_with_text(tmp_path: Path) -> None:
    pages = [[(11, "Reminders go out three days before an invoice is due.")]]
    path = write_pdf(tmp_path / "r.pdf", pages, title="Payment reminders")
    assert load(path).title == "Payment reminders"


def test_unstructured_runs_offline(tmp_path: Path) -> None:
    page = tmp_path / "a.html"
    page.write_text("<h1>A</h1><p>Short text that the spaCy model classifies.</p>")
    load(page)  # the conftest fails any connection that leaves loopback
    assert os.environ["DO_NOT_TRACK"] and os.environ["SCARF_NO_ANALYTICS"]
    from unstructured.nlp import tokenize

    with pytest.raises(LoadError, match="never downloaded at run time"):
        tokenize._install_spacy_model()


def test_password_protected_pdf_is_refused(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "locked.pdf", ARTICLE_PAGES, password="s3cret")
    with pytest.raises(LoadError, match="the PDF is password-protected"):
        load(path)


def test_corrupt_and_truncated_pdfs_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pdf"
    garbage.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF\n")
    with pytest.raises(LoadError, match=r"not a readable PDF \(corrupt or truncated\)"):
        load(garbage)
    whole = write_pdf(tmp_path / "whole.pdf", ARTICLE_PAGES).read_bytes()
    truncated = tmp_path / "truncated.pdf"
    truncated.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(LoadError, match=r"no text to index: the PDF is damaged"):
        load(truncated)


def test_pdf_without_text_is_a_failure_not_an_empty_document(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "scan.pdf", [[]])
    with pytest.raises(LoadError, match=r"no extractable text .*OCR"):
        load(path)


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.html", b"<html><body><h1>Only a heading</h1></body></html>", "no text to index"),
        ("blank.htm", b"", "no text to index"),
        ("image.html", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary content, not HTML"),
        ("notes.docx", b"just text, renamed", r"not a DOCX file \(it is not a zip package\)"),
        ("broken.docx", b"PK\x03\x04 truncated zip", "could not read the DOCX file"),
        ("broken.pptx", b"PK\x05\x06" + bytes(18), "could not read the PPTX file"),
        (
            "locked.docx",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "password-protected or old-format DOCX",
        ),
    ],
)
def test_bad_documents_are_refused_with_a_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason):
        load(path)


def test_empty_docx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.docx"
    docx.Document().save(str(path))
    with pytest.raises(LoadError, match="no text to index: the file is empty"):
        load(path)


def test_discovery_reads_html_pdf_docx_pptx_as_kb(tmp_path: Path) -> None:
    for name in ("a.html", "b.htm", "c.pdf", "d.docx", "e.pptx"):
        (tmp_path / name).write_bytes(b"x")
    sources = discover(tmp_path)
    assert [type(s.loader).__name__ for s in sources] == ["UnstructuredLoader"] * 5
    assert all(
        isinstance(s.loader, UnstructuredLoader) for s in discover(tmp_path, content_type="kb")
    )
    assert {s.reason for s in discover(tmp_path, content_type="course")} == {"not a course file"}
