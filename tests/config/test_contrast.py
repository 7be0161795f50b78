"""WCAG 2.2 contrast (core.contrast), checked against values the WCAG documents and common tools
(WebAIM's contrast checker) give, and the brand colour check built on it."""

import pytest
from django.core.exceptions import ValidationError

from core.contrast import contrast_ratio, relative_luminance, shown, validate_brand_colour


@pytest.mark.parametrize(
    ("colour", "expected"),
    [
        ("#000000", 21.0),  # the maximum
        ("#ffffff", 1.0),  # the minimum
        ("#767676", 4.54),  # the lightest grey that passes AA on white
        ("#777777", 4.48),  # one step lighter: fails
        ("#0000ff", 8.59),
        ("#ff0000", 4.00),
        ("#808080", 3.95),
        ("#949494", 3.03),  # the lightest grey that passes 3:1 (non-text) on white
        ("#959595", 2.99),
    ],
)
def test_contrast_against_white_matches_the_known_wcag_values(colour, expected):
    assert contrast_ratio(colour, "#ffffff") == pytest.approx(expected, abs=0.01)
    assert contrast_ratio("#FFFFFF", colour.upper()) == pytest.approx(expected, abs=0.01)  # either order


def test_relative_luminance_of_the_primaries():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1)
    assert relative_luminance("#ff0000") == pytest.approx(0.2126)
    assert relative_luminance("#00ff00") == pytest.approx(0.7152)
    assert relative_luminance("#0000ff") == pytest.approx(0.0722)


def test_a_ratio_is_shown_cut_not_rounded_up_to_the_one_it_missed():
    assert shown(4.4999) == "4.49:1"
    assert shown(contrast_ratio("#777777", "#ffffff")) == "4.47:1"


@pytest.mark.parametrize("colour", ["#0b5394", "#000000", "#6f6f6f", "#B00020"])
def test_a_dark_enough_colour_is_accepted(colour):
    validate_brand_colour(colour)


def test_a_colour_too_light_for_text_is_refused_naming_each_use_its_ratio_and_the_one_needed():
    with pytest.raises(ValidationError) as refused:
        validate_brand_colour("#ff0000")
    messages = refused.value.messages
    assert (
        "White text on the colour (buttons) has a contrast of 3.99:1; WCAG 2.2 AA needs at least 4.5:1."
        in (messages)
    )
    assert (
        "The colour as link text on the white page has a contrast of 3.99:1; WCAG 2.2 AA needs at least 4.5:1."
        in (messages)
    )
    # 3.99:1 is enough for a focus outline (3:1): that use is not named.
    assert not any("focus outline" in m for m in messages)


def test_a_colour_too_light_even_for_a_focus_outline_is_refused_for_that_too():
    with pytest.raises(ValidationError) as refused:
        validate_brand_colour("#f0a000")
    assert (
        "The colour as focus outline and border on white has a contrast of 2.15:1; WCAG 2.2 AA needs at least 3:1."
        in refused.value.messages
    )


def test_a_colour_that_passes_on_white_but_not_on_the_pale_panels_is_refused():
    with pytest.raises(ValidationError) as refused:
        validate_brand_colour("#767676")  # 4.54:1 on white, 4.15:1 on the fieldsets' #f3f5f8
    assert refused.value.messages[1:] == [
        "The colour as link text on the pale panels has a contrast of 4.15:1; WCAG 2.2 AA needs at least 4.5:1."
    ]


@pytest.mark.parametrize("value", ["red", "#fff", "0b5394", "#0b5394;}", "#0b539g", "#0b5394 "])
def test_anything_but_hash_and_six_hex_digits_is_refused(value):
    with pytest.raises(ValidationError, match="six hexadecimal digits"):
        validate_brand_colour(value)
