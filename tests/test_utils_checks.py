"""actionrec.utils.checks: the one validator set."""

import numpy as np
import pytest

from actionrec.utils.checks import (check_bool, check_choice, check_float, check_int, check_kwargs, check_list,
                                    parse_list_string)


def test_check_int_accepts_ints_and_numpy_ints_and_names_the_parameter():
    assert check_int("n", 3, min_value=1) == 3
    assert check_int("n", np.int64(4), min_value=1) == 4 and type(check_int("n", np.int64(4))) is int
    assert check_int("n", None, optional=True) is None
    for bad in (0, True, 2.0, "3", None):
        with pytest.raises(ValueError, match=r"^n=.* is invalid: expected an integer >= 1"):
            check_int("n", bad, min_value=1)
    with pytest.raises(ValueError, match="<= 3"):
        check_int("split", 4, min_value=1, max_value=3)


def test_check_float_bounds_positive_and_finite():
    assert check_float("lr", 1, min_value=0) == 1.0
    for bad in (float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="lr="):
            check_float("lr", bad)
    with pytest.raises(ValueError, match="> 0"):
        check_float("lr", 0.0, positive=True)
    with pytest.raises(ValueError, match=">= 0.05 and <= 4.0"):
        check_float("width", 5.0, min_value=0.05, max_value=4.0)


def test_choice_bool_kwargs():
    assert check_choice("opt", "sgd", ("adamw", "sgd")) == "sgd"
    with pytest.raises(ValueError, match=r"opt='x' is invalid: expected one of \['adamw', 'sgd'\]"):
        check_choice("opt", "x", ("adamw", "sgd"))
    with pytest.raises(ValueError, match="smoke=1"):
        check_bool("smoke", 1)
    assert check_kwargs("kw", {"a": [1, 2]}) == {"a": [1, 2]}
    with pytest.raises(ValueError, match="plain JSON"):
        check_kwargs("kw", {"a": object()})


def test_check_list_parses_papermill_strings():
    """papermill's `-p substreams '[1, 8]'` passes a string: it is parsed, then checked."""
    assert check_list("substreams", "[1, 8]", item="int", min_value=1) == [1, 8]
    assert check_list("ratios", (0.5, 1.0), min_value=0.5, max_value=1.0) == [0.5, 1.0]
    assert parse_list_string("[1, 'a']") == [1, "a"] and parse_list_string("abc") == "abc"
    assert parse_list_string("[oops") == "[oops"
    with pytest.raises(ValueError, match="substreams=\\[1, 1\\] is invalid: expected a list without duplicates"):
        check_list("substreams", "[1, 1]", item="int")
    with pytest.raises(ValueError, match="a list of ints"):
        check_list("clip", [16, 32.5, 32], item="int", unique=False)
    with pytest.raises(ValueError, match="exactly 3"):
        check_list("clip", [16, 32], item="int", length=3)
