"""Service configuration: the environment's values are checked where a typo would only show later."""

from __future__ import annotations

import pytest

from engine import config


def test_the_timer_batch_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    assert config.build(str(tmp_path), None)["TIMER_BATCH"] == 25
    monkeypatch.setenv("ADUAN_TIMER_BATCH", "50")
    assert config.build(str(tmp_path), None)["TIMER_BATCH"] == 50


@pytest.mark.parametrize("value", ["0", "-3", "lots", "2.5"])
def test_a_timer_batch_that_is_no_whole_positive_number_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, value: str
) -> None:
    monkeypatch.setenv("ADUAN_TIMER_BATCH", value)
    with pytest.raises(ValueError, match="ADUAN_TIMER_BATCH") as refused:
        config.build(str(tmp_path), None)
    assert value not in str(refused.value)
