"""What counts as an integer and as a number in a user's argument, for the builders' options and
the tools' configurations alike."""

import math


def is_int(value) -> bool:
    """An `int` that is not a `bool` (Python's True is 1, never a count a user meant).

    Example:
        >>> is_int(3), is_int(True), is_int(3.0)
        (True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    """A finite `int` or `float` that is not a `bool`: NaN and infinities are refused, since
    every comparison with NaN is False and would let it slip through a range check.

    Example:
        >>> is_number(0.5), is_number(float("nan")), is_number(float("inf")), is_number(False)
        (True, False, False, False)
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
