from assistant.text_units import list_items, split_sentences, split_units


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
    # The lead-in sentence ending in ":" travels with the list it introduces.
    assert [u.kind for u in units] == ["steps", "list", "table", "sentence", "sentence"]
    assert units[0].text == "To reset it:\n1. Open the page.\n2. Click Reset. It takes a second."
    assert units[2].text.count("\n") == 2
    assert [u.position for u in units] == list(range(5))


def test_nested_items_and_lead_in_stay_with_their_list() -> None:
    units = split_units("Then:\n1. Choose the format:\n   - CSV\n   - PDF\n2. Click Export.")
    assert [u.kind for u in units] == ["steps"]
    assert units[0].text == "Then:\n1. Choose the format:\n   - CSV\n   - PDF\n2. Click Export."
    assert [i.text for i in list_items(units[0])] == [
        "1. Choose the format:",
        "   - CSV",
        "   - PDF",
        "2. Click Export.",
    ]


def test_headings_are_not_units() -> None:
    assert [u.text for u in split_units("## Steps\nDo it.")] == ["Do it."]
