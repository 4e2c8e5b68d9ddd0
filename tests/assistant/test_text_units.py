from assistant.text_units import answer_units, list_items, split_sentences, split_units


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


def test_a_short_line_that_stops_mid_sentence_is_no_label() -> None:
    """A PDF wraps sentences around icons it loses: "In the" or "Grayscale is on, some" on a
    line of their own are the start of a sentence, not menu names. Ports and settings written
    in capitals ("AV IN", "Auto Update : ON") are names."""
    units = answer_units(
        "Settings\nGrayscale\nYou can make the screen black and white.\n"
        "Grayscale is on, some\nAccessibility menus are not available.\n"
        "In the\nGuide\nscreen, select a program.\n"
        "Go to the Support section. (\nSettings\nSupport).\n"
        "AV IN\nAuto Update : ON\n"
    )
    assert [(u.kind, u.text) for u in units] == [
        ("label", "Settings"),
        ("label", "Grayscale"),
        ("sentence", "You can make the screen black and white."),
        ("sentence", "Grayscale is on, some Accessibility menus are not available."),
        ("sentence", "In the Guide screen, select a program."),
        ("sentence", "Go to the Support section. ( Settings Support)."),
        ("label", "AV IN"),
        ("label", "Auto Update : ON"),
    ]


def test_a_line_that_opens_with_punctuation_goes_on_from_the_line_before() -> None:
    """An option's name, then its description after a colon; a name inside a sentence, then
    the rest of the sentence after a comma; a short line that ends a wrapped sentence lets the
    next name start a label again."""
    units = answer_units(
        "You can change the following settings:\nBrightness\n: Adjusts the brightness for\n"
        "Ambient Mode\nColor Tone\n: Adjusts the colors.\n"
        "To the right of\nSchedule Manager\nRecordings\n, you can see recent programs.\n"
    )
    assert [(u.kind, u.text) for u in units] == [
        ("sentence", "You can change the following settings:"),
        ("sentence", "Brightness: Adjusts the brightness for Ambient Mode"),
        ("sentence", "Color Tone: Adjusts the colors."),
        ("sentence", "To the right of Schedule Manager Recordings, you can see recent programs."),
    ]
