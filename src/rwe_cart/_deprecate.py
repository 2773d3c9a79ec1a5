"""Retired spellings: argument names and positions, and methods that became table
attributes. They keep working for one minor version, with a FutureWarning that names the
new spelling (the vocabulary of docs/api-conventions.md)."""
from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

F = TypeVar("F", bound=Callable[..., Any])

#: The version in which the retired spellings stop working.
REMOVED_IN = "0.3.0"


def renamed(**old_to_new: str) -> Callable[[F], F]:
    """Let a function take each retired keyword ``old`` for ``new``, with a FutureWarning.

    The function's signature (``inspect.signature``) shows only the new names.
    """
    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got {old}= and {new}=; {old}= is the "
                                        f"retired name of {new}=, give {new}= only")
                    warnings.warn(f"{fn.__name__}({old}=) is now {fn.__name__}({new}=); "
                                  f"{old}= stops working in rwe_cart {REMOVED_IN}",
                                  FutureWarning, stacklevel=2)
                    kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def keyword_only(*names: str) -> Callable[[F], F]:
    """Let a function still take ``names`` by position (the order they had), with a
    FutureWarning: they are keyword-only in its signature now."""
    def decorate(fn: F) -> F:
        n_positional = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                           for p in inspect.signature(fn).parameters.values())

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            extra = args[n_positional:]
            if extra:
                if len(extra) > len(names):
                    raise TypeError(f"{fn.__name__}() takes at most "
                                    f"{n_positional + len(names)} positional arguments")
                given = names[:len(extra)]
                twice = [n for n in given if n in kwargs]
                if twice:
                    raise TypeError(f"{fn.__name__}() got {twice[0]} by position and by "
                                    "keyword")
                warnings.warn(f"{fn.__name__}(): pass {', '.join(f'{n}=' for n in given)} by "
                              f"keyword; giving {'it' if len(given) == 1 else 'them'} by "
                              f"position stops working in rwe_cart {REMOVED_IN}",
                              FutureWarning, stacklevel=2)
                kwargs.update(zip(given, extra))
            return fn(*args[:n_positional], **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


class _CallableTable(pd.DataFrame):
    """A table attribute that still answers its retired call form with a FutureWarning.

    Everything derived from it (slices, copies, arithmetic) is a plain DataFrame.
    """

    _metadata = ["_retired_name"]

    @property
    def _constructor(self):
        return pd.DataFrame

    def __call__(self) -> pd.DataFrame:
        attribute = self._retired_name.rsplit(".", 1)[-1]
        warnings.warn(f"`{self._retired_name}` is a table attribute since 0.2.0; write "
                      f"`.{attribute}` without parentheses (the call form is removed in "
                      f"rwe_cart {REMOVED_IN})", FutureWarning, stacklevel=2)
        return pd.DataFrame(self, copy=True)


def retired_call(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """`table`, which also answers ``table()`` (the retired method `name`, e.g.
    ``"KaplanMeier.summary"``) with a FutureWarning and a plain copy."""
    out = _CallableTable(table)
    out._retired_name = name
    return out
