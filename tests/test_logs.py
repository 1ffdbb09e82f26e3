"""Progress lines of long steps: from the first item on, with the time left."""

import logging

from tact.logs import ProgressLog


class Clock:
    """Seconds that pass only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_logged_after_the_first_item_every_tenth_and_at_the_end(caplog):
    clock = Clock()
    log = logging.getLogger("tact.test")
    with caplog.at_level(logging.INFO, logger="tact.test"):
        progress = ProgressLog(log, "sweep", 20, clock=clock)
        for _ in range(20):
            clock.now += 3.0  # 3 s per item
            progress.step()
    lines = [r.getMessage() for r in caplog.records]
    # after item 1, then every 2 items (a tenth of 20), the last at 20
    assert [int(line.split(": ")[1].split(" of")[0]) for line in lines] == [1, *range(2, 21, 2)]
    assert lines[0] == "sweep: 1 of 20 done, 3 s each, about 57 s left"
    assert lines[-1] == "sweep: 20 of 20 done, 3 s each, about 0 s left"


def test_progress_counts_several_items_at_once_and_small_totals(caplog):
    clock = Clock()
    log = logging.getLogger("tact.test")
    with caplog.at_level(logging.INFO, logger="tact.test"):
        progress = ProgressLog(log, "volume 3", 3, clock=clock)
        clock.now += 1.0
        progress.step(2)
        clock.now += 1.0
        progress.step()
    assert [r.getMessage() for r in caplog.records] == [
        "volume 3: 2 of 3 done, 0.5 s each, about 0 s left",
        "volume 3: 3 of 3 done, 0.67 s each, about 0 s left",
    ]
