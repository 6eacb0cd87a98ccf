"""How the simulations' lines count things, in one spelling for the reports (text, page and
plots), the progress and the scenario's problems."""


def counted_as(n: int, noun: str) -> str:
    """``1 day``, ``2 days``: a count and its noun, plural unless one."""
    return f"{n:,} {numbered(n, noun)}"


def numbered(n: int, noun: str) -> str:
    """The noun for ``n`` of it: plural unless one (``processes`` after s, x, ch, sh)."""
    if n == 1:
        return noun
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"  # (a try, two tries)
    return noun + ("es" if noun.endswith(("s", "x", "ch", "sh")) else "s")


def percent(part: int, whole: int) -> str:
    """A share with as many decimals as it takes not to read 100% or 0% when it is not."""
    if not whole:
        return "-"
    if part in (0, whole):
        return f"{part / whole:.0%}"
    for decimals in range(1, 6):
        shown = f"{100 * part / whole:.{decimals}f}"
        if float(shown) not in (0.0, 100.0):
            return f"{shown}%"
    return f"{100 * part / whole:.6f}%"
