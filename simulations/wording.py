"""How the simulations' lines count things, in one spelling for the report, the progress
and the scenario's problems."""


def counted_as(n: int, noun: str) -> str:
    """``1 day``, ``2 days``: a count and its noun, plural unless one."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
