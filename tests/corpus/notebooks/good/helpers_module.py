"""A plain Python module next to the notebooks (not a notebook)."""


def double(x):
    return 2 * x
