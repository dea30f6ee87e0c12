"""The layout of a person's views over time (kb/web/timeline.py)."""

from kb.web.timeline import LABEL_WIDTH, timeline


def statement(published, stance, text="words", link="/documents/1#q1"):
    return {"published": published, "stance": stance, "text": text, "link": link}


def test_dots_are_placed_by_date_in_a_lane_per_stance():
    drawn = timeline(
        [
            statement("2020-01-01", "b"),
            statement("2024-01-01", "a"),
            statement("2022", None),
            statement("not a date", "a"),
            statement(None, "b"),
        ],
        stances=["a", "b", "c"],
        width=500,
    )
    assert [lane["stance"] for lane in drawn["lanes"]] == ["a", "b", "no stance"]  # c has no statement
    assert drawn["undated"] == 2
    xs = {dot["label"][:10]: dot["x"] for dot in drawn["dots"]}
    assert LABEL_WIDTH < xs["2020-01-01"] < xs["2022-01-01"] < xs["2024-01-01"] <= 500
    assert [t["label"] for t in drawn["ticks"]] == ["2020", "2021", "2022", "2023", "2024"]
    colours = {lane["stance"]: lane["colour"] for lane in drawn["lanes"]}
    assert len(set(colours.values())) == 3


def test_statements_of_one_day_sit_side_by_side_and_keep_their_links():
    drawn = timeline([statement("2024-03-12", "a", link=f"/documents/1#q{i}") for i in range(3)], ["a"])
    assert len({dot["x"] for dot in drawn["dots"]}) == 3
    assert [dot["link"] for dot in drawn["dots"]] == ["/documents/1#q0", "/documents/1#q1", "/documents/1#q2"]


def test_nothing_dated_draws_nothing():
    drawn = timeline([statement(None, "a")], ["a"])
    assert drawn["dots"] == [] and drawn["undated"] == 1
