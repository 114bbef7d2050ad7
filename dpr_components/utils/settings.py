"""Settings declared once: a dataclass field carries its default, type and help; command-line options are made
from it, so a command cannot drift from the library (``tests/utils/test_settings.py`` compares every default).

- ``setting(default, "help")`` declares a field (no default: a required option). ``flag=`` renames the option.
- :func:`add_options` adds one option per field: ``--field-name`` typed by the annotation (``Optional[int]``
  reads an int; a :class:`~dpr_components.utils.choices.Choice` reads one of its values, errors listing them);
  a bool defaulting to False is a switch ``--name``, one defaulting to True a switch ``--no-name``.
- :func:`read_options` builds the dataclass back from the parsed arguments.

Example::

    @dataclass
    class Settings:
        output_dir: str = setting(help="where the model goes", flag="--output")
        batch_size: int = setting(16, "questions per batch")
        resume: bool = setting(True, "continue an interrupted run", flag="--no-resume")

    parser = argparse.ArgumentParser()
    add_options(parser, Settings)
    settings = read_options(Settings, parser.parse_args(["--output", "out", "--batch-size", "8"]))
"""
import argparse
import dataclasses
import typing
from typing import TYPE_CHECKING, Any, Callable, Collection, Dict, Optional, Type, TypeVar, Union

from dpr_components.errors import ConfigurationError
from dpr_components.utils.choices import Choice

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")


def setting(default: Any = dataclasses.MISSING, help: Optional[str] = "", flag: str = "") -> Any:  # noqa: A002
    """A dataclass field with its command-line help (and option name, when not ``--field-name``). ``help`` may be
    an enum's ``__doc__``."""
    return dataclasses.field(default=default, metadata={"help": help or "", "flag": flag})


def option_flag(field: dataclasses.Field) -> str:
    """The option of ``field``: its ``flag``, else ``--no-name`` for a bool that defaults to True, else ``--name``."""
    if field.metadata.get("flag"):
        return field.metadata["flag"]
    prefix = "--no-" if field.default is True else "--"
    return prefix + field.name.replace("_", "-")


def add_options(parser: Union[argparse.ArgumentParser, Any], cls: type, skip: Collection[str] = ()) -> None:
    """One option per field of the dataclass ``cls`` (except ``skip``) on ``parser`` (or an argument group)."""
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if field.name in skip or not field.init:
            continue
        flag, default = option_flag(field), field.default
        help_text = " ".join(field.metadata.get("help", "").replace("``", "").split())  # docstrings serve as help
        if hints[field.name] is bool:
            parser.add_argument(flag, dest=field.name, action="store_false" if default is True else "store_true",
                                default=bool(default), help=help_text)
            continue
        kind = _value_type(hints[field.name])
        options: Dict[str, Any] = {"dest": field.name, "type": _parser(kind), "help": help_text}
        if default is dataclasses.MISSING:
            options["required"] = True
        else:
            options["default"] = default
            if default is not None:
                options["help"] = f"{help_text} (default {default})" if help_text else f"default {default}"
        is_choice = isinstance(kind, type) and issubclass(kind, Choice)
        options["metavar"] = ("{" + ",".join(m.value for m in kind) + "}" if is_choice
                              else flag.lstrip("-").upper().replace("-", "_"))
        parser.add_argument(flag, **options)


def read_options(cls: Type[T], args: argparse.Namespace, skip: Collection[str] = (), **values: Any) -> T:
    """The dataclass ``cls`` from the options :func:`add_options` added, with ``values`` overriding them."""
    fields = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
              if f.init and f.name not in skip and hasattr(args, f.name)}
    return cls(**{**fields, **values})


def _value_type(annotation: Any) -> Any:
    """``Optional[X]`` -> X; ``Union[str, Path]`` -> str; anything else as it is."""
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is Union:
        return arguments[0] if len(arguments) == 1 else str
    return annotation


def _parser(kind: Any) -> Callable[[str], Any]:
    if isinstance(kind, type) and issubclass(kind, Choice):
        def choice(text: str) -> Any:
            try:
                return kind.from_str(text)
            except ConfigurationError as error:  # argparse prints it as the usage error (exit 2)
                raise argparse.ArgumentTypeError(str(error)) from None

        return choice
    return kind
