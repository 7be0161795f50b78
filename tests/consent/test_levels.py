from core.levels import CHILD_MAXIMUM, DESCRIPTIONS, ConsentLevel, describe, includes


def test_six_levels_in_order_with_names_and_descriptions(db):  # describe() reads the wording
    assert [(level.value, level.label) for level in ConsentLevel] == [
        (0, "None"),
        (1, "Consent"),
        (2, "Transactional"),
        (3, "Subscriptions"),
        (4, "Marketing"),
        (5, "Profiling"),
    ]
    assert all(describe(level) for level in ConsentLevel) and len(DESCRIPTIONS) == 6


def test_a_higher_level_includes_every_lower_one():
    for held in ConsentLevel:
        for required in ConsentLevel:
            assert includes(held, required) == (held >= required)


def test_children_stop_below_profiling():
    assert CHILD_MAXIMUM == ConsentLevel.MARKETING
