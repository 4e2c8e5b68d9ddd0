from assistant.types import Audience


def test_audiences_see_their_level_and_below() -> None:
    assert Audience.PUBLIC.visible() == ["public"]
    assert Audience.PARTNER.visible() == ["public", "partner"]
    assert Audience.INTERNAL.visible() == ["public", "partner", "internal"]
