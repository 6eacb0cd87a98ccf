"""simulate's --compare: which number of the policy a comparison varies, and its values,
checked as a scenario file's are."""

from __future__ import annotations

import click

from simulations.checks import policy_value_problem
from simulations.varied import VALIDITY, VARIED, Varied


def compared_values(ctx: click.Context, param: click.Parameter, given: tuple[str, ...]
                    ) -> tuple[Varied, list[float]] | None:
    """--compare's [KEY=]V1,V2,...: the policy's number it varies (the key validity unless
    a KEY is given) and its values, each within the bounds a scenario file has. Given
    once: a second is refused, not taken for the first."""
    if not given:
        return None
    if len(given) > 1:
        raise click.BadParameter("once: it varies one number of the policy (given "
                                 + " and ".join(repr(g) for g in given) + ")", ctx, param)
    value = given[0]
    key, named, listed = value.partition("=") if "=" in value else ("", "", value)
    if "=" in listed:
        raise click.BadParameter(f"KEY= once, before the values, e.g. {key.strip()}=5,10,15 "
                                 f"(not {value!r})", ctx, param)
    if (varied := VARIED.get(key.strip()) if named else VALIDITY) is None:
        raise click.BadParameter(f"{key!r} is not a number of the policy that --compare "
                                 f"varies: one of {', '.join(VARIED)}", ctx, param)
    try:
        values = [_number(v) for v in listed.split(",")]
    except ValueError:
        raise click.BadParameter(f"{listed!r} is not a list of numbers, e.g. 5,10,15",
                                 ctx, param) from None
    if problem := next(filter(None, (policy_value_problem(varied.key, v) for v in values)),
                       None):
        raise click.BadParameter(problem, ctx, param)
    if len(values) < 2:
        raise click.BadParameter(f"one value compares nothing: give two or more, e.g. "
                                 f"{varied.key}=5,10 (to run one policy, set it in the "
                                 "scenario's [policy])", ctx, param)
    # A run's folder and column are named by its value (whole numbers in full, whole
    # seconds up to a day distinct to 6 figures): one name, one value.
    labels = [varied.shown(v) for v in values]
    if repeated := [label for label in dict.fromkeys(labels) if labels.count(label) > 1]:
        typed = [v.strip() for v in listed.split(",")]
        raise click.BadParameter("each value once: " + "; ".join(
            _twice(label, [t for t, named in zip(typed, labels, strict=True) if named == label])
            for label in repeated), ctx, param)
    return varied, values


def _number(text: str) -> float:
    """A value as written: a whole number stays one (a scenario's int keys want one); only
    ASCII digits, as in a scenario file (Python would read a full-width ５ too)."""
    if not text.isascii():
        raise ValueError(text)
    try:
        return int(text)
    except ValueError:
        return float(text)


def _twice(label: str, given: list[str]) -> str:
    """One value --compare was given twice (in the order given): the same value typed
    again, or written two ways."""
    if len(set(given)) == 1:
        return f"{given[0]} is given more than once"
    return f"{', '.join(given)} are the same value, {label}"


def policy_values(ctx: click.Context, param: click.Parameter, given: tuple[str, ...]
                  ) -> dict[str, float]:
    """--policy's KEY=VALUE, each key once: a number of the scenario's [policy] set for
    this run, within the bounds a scenario file has."""
    values: dict[str, float] = {}
    for each in given:
        key, named, typed = (part.strip() for part in each.partition("="))
        if not named or not key:
            raise click.BadParameter(f"KEY=VALUE, e.g. key_validity_minutes=15 (not {each!r})",
                                     ctx, param)
        if key not in VARIED:
            raise click.BadParameter(f"{key!r} is not a number of the policy: one of "
                                     f"{', '.join(VARIED)}", ctx, param)
        if key in values:
            raise click.BadParameter(f"{key} is given more than once", ctx, param)
        try:
            values[key] = _number(typed)
        except ValueError:
            raise click.BadParameter(f"{key}={typed!r}: not a number", ctx, param) from None
        if problem := policy_value_problem(key, values[key]):
            raise click.BadParameter(problem, ctx, param)
    return values
