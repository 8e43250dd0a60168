"""Lists on the command line: ranges and commas in, values in order out, a usage error naming the option otherwise."""

from enum import Enum

import pytest
import typer

from digitlab.cli.lists import choice_list, deskew_choices, float_list, int_list

Colour = Enum("Colour", {"red": "red", "green": "green"}, type=str)


def test_ranges_and_commas_mix_and_keep_their_order_without_duplicates():
    assert int_list("1-3,7,2", "--ks") == (1, 2, 3, 7)
    assert int_list("0,15", "--pcas", low=0) == (0, 15)
    assert float_list("1.5, 0,1.5", "--blurs") == (1.5, 0.0)
    assert choice_list("green,red,green", Colour, "--colours") == ("green", "red")
    assert deskew_choices("both") == (False, True) and deskew_choices("yes") == (True,)


@pytest.mark.parametrize("call", [
    lambda: int_list("0-3", "--ks"),  # below the lowest allowed
    lambda: int_list("one", "--ks"),
    lambda: int_list(",", "--ks"),  # nothing given
    lambda: float_list("-1", "--blurs"),
    lambda: float_list("x", "--blurs"),
    lambda: choice_list("red,blue", Colour, "--colours"),
    lambda: deskew_choices("maybe"),
])
def test_a_bad_list_is_a_usage_error_that_names_its_option(call):
    with pytest.raises(typer.BadParameter) as caught:
        call()
    assert caught.value.param_hint in ("--ks", "--blurs", "--colours", "--deskew")
