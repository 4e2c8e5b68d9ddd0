from assistant.text_units import split_sentences, split_units


def test_sentences_split_at_sentence_ends_not_abbreviations() -> None:
    text = "Open Settings, e.g. the gear icon. Then click Save! Done? Yes."
    assert split_sentences(text) == [
        "Open Settings, e.g. the gear icon.",
        "Then click Save!",
        "Done?",
        "Yes.",
    ]


def test_steps_lists_and_tables_stay_whole() -> None:
    text = (
        "To reset it:\n1. Open the page.\n2. Click Reset.\n   It takes a second.\n\n"
        "- red\n- blue\n\n| plan | price |\n| --- | --- |\n| Starter | 9 |\n\nThe end. Really."
    )
    units = split_units(text)
    assert [u.kind for u in units] == ["sentence", "steps", "list", "table", "sentence", "sentence"]
    assert units[1].text == "1. Open the page.\n2. Click Reset. It takes a second."
    assert units[3].text.count("\n") == 2
    assert [u.position for u in units] == list(range(6))


def test_headings_are_not_units() -> None:
    assert [u.text for u in split_units("## Steps\nDo it.")] == ["Do it."]
