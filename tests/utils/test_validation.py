import math

import pytest

from dpr_components.errors import ConfigurationError
from dpr_components.utils.validation import finite_float, optional_positive_int, positive_int


@pytest.mark.parametrize("value", [1, 5, 10**6])
def test_positive_int_accepts_integers(value):
    assert positive_int("top_k", value) == value


@pytest.mark.parametrize("value", [0, -3, 3.5, 3.0, "5", None, True, float("nan")])
def test_positive_int_refuses_the_rest_naming_parameter_and_value(value):
    with pytest.raises(ConfigurationError, match=r"top_k must be a positive integer, got"):
        positive_int("top_k", value)


def test_minimum_and_optional():
    assert positive_int("limit", 0, minimum=0) == 0
    with pytest.raises(ConfigurationError, match="limit must be an integer >= 0, got -1"):
        positive_int("limit", -1, minimum=0)
    assert optional_positive_int("top_k", None) is None


@pytest.mark.parametrize("value", [math.nan, math.inf, "0.9", None, True])
def test_finite_float_refuses_non_finite_and_non_numbers(value):
    with pytest.raises(ConfigurationError, match="bm25_k1 must be a finite number"):
        finite_float("bm25_k1", value)


def test_finite_float_bounds():
    assert finite_float("b", 0.4, minimum=0, maximum=1) == 0.4
    with pytest.raises(ConfigurationError, match="b must be between 0 and 1, got 1.5"):
        finite_float("b", 1.5, minimum=0, maximum=1)
