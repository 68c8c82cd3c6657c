"""The one sentence a bad request gets, from pydantic's list of problems."""

from __future__ import annotations

from pydantic import BaseModel, Field, ValidationError

from energytui.api.problems import problem_sentence


class _Body(BaseModel):
    roi: list[int] = Field(min_length=4, max_length=4)
    name: str


def _errors(data: object) -> list:
    try:
        _Body.model_validate(data)
    except ValidationError as exc:
        return exc.errors()
    raise AssertionError("valid")


def test_a_problem_is_one_sentence_naming_its_field_and_counting_the_others() -> None:
    assert problem_sentence(_errors({"roi": [1, 2]})) == (
        "roi: list should have at least 4 items, not 2 (and 1 more problem)."
    )
    assert problem_sentence(_errors({"roi": [1, 2], "name": "x"}), count_others=False) == (
        "roi: list should have at least 4 items, not 2."
    )
    assert problem_sentence([]) == "The request is not valid."
    assert problem_sentence([{"type": "json_invalid"}]) == "The request body is not valid JSON."
