"""Checks of the Hydra overrides of a training run (the training and tuning commands'
command lines, the Python API's ``overrides``) before Hydra composes them, so that common
mistakes end in one line ``error: …`` instead of Hydra's message or traceback:

- a mistyped group or key (``hopfeld=softmax``, ``data.inlen=48``), for which Hydra
  advises appending with ``+``: the line names the nearest valid name (difflib);
- an option a group does not have (``model=dlinar``): the line lists the options;
- an override Hydra cannot read (``'data.targets=[OT'``), a comma list without ``-m``,
  ``+key=…`` for a key that exists, and a value of the wrong kind (``model.d_model=abc``);
- an output folder that cannot be created or written.

An option kept under an old name (:data:`RENAMED`) runs, with a one-line note.
"""

from __future__ import annotations

import difflib
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override, OverrideType
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from stanhop.data.messages import listing
from stanhop.runtime.threads import check_threads
from stanhop.training.compose import CONF_DIR, compose_config

# group -> {old option: new option}: old names kept as aliases (conf/GROUP/OLD.yaml
# takes the new file in its defaults list).
RENAMED: dict[str, dict[str, str]] = {}


class UsageError(ValueError):
    """A command line that cannot run, in one line saying what to type instead."""


def check_command_line(argv: Sequence[str], config_dir: Path | None = None) -> None:
    """Raise a :class:`UsageError` for a mistyped group, option or key among the Hydra
    overrides in ``argv``, an override Hydra would refuse, or an output folder that cannot
    be written; ``config_dir`` (or ``--config-dir`` in ``argv``) is the user's folder of
    configs, searched before the packaged ones. Command lines this cannot judge (another
    config, shell completion) are left to Hydra, which reports them itself."""
    args, _ = get_args_parser().parse_known_args(list(argv))
    if args.config_name or args.config_path or args.shell_completion:
        return
    config_dir = config_dir or args.config_dir
    if config_dir is not None and not Path(config_dir).is_dir():
        raise UsageError(
            f"--config-dir {config_dir}: no such folder; give a folder of config groups "
            "(e.g. one holding experiment/NAME.yaml)"
        )
    overrides = read_overrides(args.overrides)
    if not args.multirun:
        _check_no_sweep(overrides)
    groups = searched_groups(config_dir)
    own = [o for o in overrides if not _is_hydra(o) and o.type == OverrideType.CHANGE]
    choices = [o for o in own if o.key_or_group in groups]
    for override in choices:
        _check_choice(override, groups[override.key_or_group])
        _note_renamed(override)
    chosen = [f"{o.key_or_group}={_first(o)}" for o in choices]
    hydra_settings = [o.input_line for o in overrides if _is_hydra(o) and not o.is_sweep_override()]
    try:
        cfg = compose_config(
            *chosen, *hydra_settings, config_dir=config_dir, return_hydra_config=True
        )
    except (HydraException, OmegaConfBaseException):
        return
    for override in own:
        if override not in choices:
            _check_key(override, cfg, groups)
            _check_kind(override, cfg)
        if override.key_or_group == "threads":
            for value in _values(override):
                try:
                    check_threads(value)
                except ValueError as err:
                    raise UsageError(str(err)) from None
    for override in overrides:
        if override.type == OverrideType.ADD and override.key_or_group not in groups:
            _check_new(override, cfg)
    given = [o.input_line for o in overrides if not (_is_hydra(o) or o.is_sweep_override())]
    _check_composes([*chosen, *(line for line in given if line not in chosen)], config_dir)
    _check_output_folder(cfg, overrides, args.multirun)


def read_overrides(lines: Sequence[str]) -> list[Override]:
    """The Hydra overrides ``lines``, parsed; a :class:`UsageError` naming the first that
    Hydra's grammar cannot read (an unclosed bracket or quote)."""
    parser = OverridesParser.create()
    parsed = []
    for line in lines:
        try:
            parsed += parser.parse_overrides([line])
        except HydraException as err:
            # Hydra's message: the grammar's complaint between a heading, a caret line
            # and a link to the grammar's documentation.
            lines = [t.strip() for t in str(err).splitlines()]
            reason = next(
                (t for t in lines if t.strip("^") and not t.startswith(("Error parsing", "See "))),
                "unreadable",
            )
            raise UsageError(
                f"{line}: Hydra cannot read this override ({reason}); close its brackets "
                "and quotes: a list is key=[a,b], other text goes in quotes, key='a b'"
            ) from None
    return parsed


def _check_no_sweep(overrides: list[Override]) -> None:
    for override in overrides:
        if override.is_sweep_override() and not _is_hydra(override):
            key = override.key_or_group
            raise UsageError(
                f"{override.input_line}: a comma list is a sweep, one run per value; add -m "
                f"to run them all, or give one value (quote text with a comma: {key}='a,b')"
            )


# Settings of a number that also take a word or a list (Lightning's devices=auto, [0,1]).
NUMBER_OR_MORE = {"trainer.devices"}


def _check_kind(override: Override, cfg: DictConfig) -> None:
    """Raise a :class:`UsageError` when ``override`` gives a word to a setting that holds
    a number or a truth value: the model or data would fail later, naming neither."""
    if override.type != OverrideType.CHANGE or override.key_or_group in NUMBER_OR_MORE:
        return
    key = override.key_or_group
    default = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
    if isinstance(default, bool):
        kind, expected = "true or false", (bool,)
    elif isinstance(default, int):
        kind, expected = "a whole number", (int,)
    elif isinstance(default, float):
        kind, expected = "a number", (int, float)
    else:
        return
    for value in _typed_values(override):
        if isinstance(value, str) and "${" in value:
            continue  # an interpolation: resolved, and judged, when the run reads it
        if value is not None and (
            not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected)
        ):
            raise UsageError(
                f"{override.input_line}: {key} takes {kind}, not {value!r}; e.g. "
                f"{key}={_hydra_text(default)} (its default)"
            )


def _typed_values(override: Override) -> list[object]:
    if override.is_sweep_override():
        return list(override.sweep_iterator())
    return [override.value()]


def _hydra_text(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _check_new(override: Override, cfg: DictConfig) -> None:
    """``+key=v`` adds a key; for one that exists Hydra refuses with a three-line report."""
    key = override.key_or_group
    missing = object()
    if OmegaConf.select(cfg, key, default=missing, throw_on_resolution_failure=False) is missing:
        return
    value = override.input_line.split("=", 1)[1] if "=" in override.input_line else ""
    raise UsageError(
        f"{override.input_line}: {key} exists already; set it without the + "
        f"({key}={value}), or with ++ to add or set it"
    )


def _check_composes(overrides: list[str], config_dir: Path | str | None) -> None:
    """Compose the config with the user's own ``overrides`` as Hydra will: a value a
    config type refuses (``hopfield.beta=abc``) is one line here, not Hydra's report."""
    try:
        compose_config(*overrides, config_dir=config_dir)
    except (HydraException, OmegaConfBaseException) as err:
        reasons = [str(err).strip().splitlines()[0]]
        if err.__cause__ is not None:
            reasons.append(str(err.__cause__).strip().splitlines()[0])
        raise UsageError(": ".join(reasons)) from None


def config_groups(conf_dir: Path) -> dict[str, list[str]]:
    """Every config group under ``conf_dir`` (``model``, ``hopfield``…; nested ones as
    ``a/b``) with the names of its options, those in its subfolders included as Hydra
    names them (``experiment=tuned/etth1_24``)."""
    groups: dict[str, list[str]] = {}
    for folder in sorted(p for p in conf_dir.rglob("*") if p.is_dir()):
        options = sorted(
            f.relative_to(folder).with_suffix("").as_posix() for f in folder.rglob("*.yaml")
        )
        if options:
            groups[folder.relative_to(conf_dir).as_posix()] = options
    return groups


def given_config_dir(argv: Sequence[str]) -> str | None:
    """The folder of ``--config-dir DIR`` (``-cd DIR``) in ``argv``, if any."""
    args, _ = get_args_parser().parse_known_args(list(argv))
    return args.config_dir


def searched_groups(config_dir: Path | str | None = None) -> dict[str, list[str]]:
    """The config groups Hydra sees with a user's ``config_dir`` before the packaged
    configs: the options of both, by group."""
    groups = config_groups(CONF_DIR)
    if config_dir is not None:
        for group, options in config_groups(Path(config_dir)).items():
            groups[group] = sorted({*groups.get(group, []), *options})
    return groups


def _is_hydra(override: Override) -> bool:
    return override.key_or_group.split("/")[0].split(".")[0] == "hydra"


def _values(override: Override) -> list[str]:
    if override.is_sweep_override():
        return list(override.sweep_string_iterator())
    value = override.value()
    return [] if value is None else [str(value)]


def _first(override: Override) -> str:
    values = _values(override)
    return values[0] if values else "null"


def _check_choice(override: Override, options: list[str]) -> None:
    group = override.key_or_group
    for value in _values(override):
        if value not in options:
            close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
            hint = f"did you mean {group}={close[0]}? " if close else ""
            raise UsageError(
                f"{group}={value}: the {group} group has no option {value!r}; {hint}its "
                f"options are {listing(options)}"
            )


def _note_renamed(override: Override) -> None:
    group = override.key_or_group
    for value in _values(override):
        new = RENAMED.get(group, {}).get(value)
        if new:
            warnings.warn(
                f"{group}={value} is deprecated, use {group}={new} (the same variant)",
                FutureWarning,
                stacklevel=2,
            )


def _check_key(override: Override, cfg: DictConfig, groups: dict[str, list[str]]) -> None:
    """Raise a :class:`UsageError` when the key of ``override`` (``a.b.c=v``) is not a
    setting of ``cfg``, suggesting the override with the nearest setting at the level
    where it goes astray."""
    key = override.key_or_group
    node: object = OmegaConf.to_container(cfg, resolve=False)
    parts = key.split(".")
    for depth, part in enumerate(parts):
        if not isinstance(node, dict):
            return  # a value or an interpolation: Hydra judges what goes below it
        if part not in node:
            prefix = ".".join(parts[:depth])
            names = [str(k) for k in node if k != "hydra"]
            if depth == 0:
                names += [g for g in groups if "/" not in g]
            close = difflib.get_close_matches(part, sorted(set(names)), n=1, cutoff=0.6)
            where = f"{prefix} has no setting {part!r}" if prefix else f"no setting {part!r}"
            if close:
                fixed = ".".join([*parts[:depth], close[0]])
                hint = f"did you mean {fixed}{override.input_line[len(key) :]}?"
            else:
                hint = f"check the spelling, or add it as a new setting with +{key}=…"
            raise UsageError(f"{key}: {where}; {hint}")
        node = node[part]


def _check_output_folder(cfg: DictConfig, overrides: list[Override], multirun: bool) -> None:
    """Raise a :class:`UsageError` when the run's output folder cannot be made: Hydra
    would make it before the run starts and fail with a traceback."""
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    folders = {key: OmegaConf.select(cfg, key, throw_on_resolution_failure=False)}
    given = {o.key_or_group: o for o in overrides if not o.is_sweep_override()}
    if "paths.output_dir" in given:
        folders["paths.output_dir"] = given["paths.output_dir"].value()
    for name, folder in folders.items():
        if isinstance(folder, str) and folder:
            check_writable_folder(Path(folder), name)


def check_writable_folder(folder: Path, name: str) -> None:
    """Raise a :class:`UsageError` unless ``folder`` exists and can be written, or can be
    created: its nearest existing parent must be a folder where a folder can be made
    (tried, and removed at once)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(
            f"{name}={folder}: {existing} is a file, not a folder; choose another {name}"
        )
    try:
        with tempfile.TemporaryDirectory(dir=existing):
            pass
    except OSError as err:
        raise UsageError(
            f"{name}={folder}: cannot write in {existing} ({err.strerror}); choose a writable "
            f"folder with {name}=DIR"
        ) from None
