"""Text in the product's PDFs (core.pdf): what the core fonts cannot print degrades to the
nearest readable text, never to an error."""

from core.pdf import pdf_text


def test_letters_outside_latin_1_keep_their_base_letter():
    assert pdf_text("Dvořák, Łódź, Ş") == "Dvorák, ?ódz, S"


def test_typographic_marks_and_the_euro_become_plain_text():
    assert pdf_text("„Preis“ – 5 €") == '"Preis" - 5 EUR'


def test_empty_values_and_symbols_never_fail():
    assert pdf_text(None) == "" and pdf_text("✓ 漢") == "? ?"
