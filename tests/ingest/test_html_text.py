from ingest.html_text import html_to_text


def test_lists_become_numbered_and_nested_lines() -> None:
    html = (
        "<p>Do this:</p><ol><li>Go.</li><li>Choose the format:<ul><li>CSV</li><li>PDF</li></ul>"
        "</li><li>Click <code>Export</code>.</li></ol><script>alert(1)</script>"
        "<p>Done &amp; dusted</p>"
    )
    assert html_to_text(html).splitlines() == [
        "Do this:",
        "1. Go.",
        "2. Choose the format:",
        "   - CSV",
        "   - PDF",
        "3. Click Export.",
        "Done & dusted",
    ]
