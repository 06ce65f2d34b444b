"""Run configuration: YAML (data only) -> validated pydantic model.

Every bad field is reported by its path with what is allowed; command-line overrides
(`key.sub=value`, the value parsed as YAML scalars, never evaluated) go through the same validation.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from neuroleg.envs import ENV_IDS
from neuroleg.envs.arguments import ENERGY_WEIGHT_MAX, BodyArgs
from neuroleg.envs.physiology.model import load_model
from neuroleg.envs.tasks import TASKS
from neuroleg.envs.tasks.base import Arguments

TASK_CONFIG = {"Posture": "posture", "SquatJump": "squatjump", "Hop": "hop", "Pedal": "pedal"}  # file prefixes
ALGORITHMS = ("ppo", "sac", "td3", "tqc", "recurrent_ppo")
RUN_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,80}$"  # a folder name inside the runs folder, never a path
ON_POLICY_ALGORITHMS = ("ppo", "recurrent_ppo")
ON_POLICY_FIELDS = ("n_steps", "n_epochs", "gae_lambda", "clip_range", "ent_coef")
OFF_POLICY_FIELDS = ("buffer_size", "learning_starts", "tau", "train_freq", "gradient_steps", "action_noise_std")


class ConfigError(ValueError):
    """A configuration that does not validate; `problems` lists (path, message)."""

    def __init__(self, origin: str, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        lines = [f"invalid config {origin}:"] + [f"  {path}: {msg}" for path, msg in problems]
        super().__init__("\n".join(lines))


class _Strict(BaseModel):
    """Unknown keys refused; values of the wrong type refused by name, never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=True, allow_inf_nan=False)


class _TaskArgs(Mapping[str, type[Arguments]]):
    """Each task's own arguments, declared by the task (`Task.Args`, the declaration gym.make validates
    with); read live from TASKS, so a task registered later (`register_task`) is in it too."""

    def __getitem__(self, task: str) -> type[Arguments]:
        return TASKS[task].Args

    def __iter__(self) -> Iterator[str]:
        return iter(TASKS)

    def __len__(self) -> int:
        return len(TASKS)


TASK_ARGS = _TaskArgs()


class EnvConfig(BodyArgs):
    """The environment: its task, the body arguments (`BodyArgs`, as gym.make takes them) and the task's."""

    task: str = Field(description="the task: a registered one (Posture, SquatJump, Hop, Pedal, or one's own)")
    task_args: dict[str, Any] = Field(default_factory=dict, description="the task's own arguments")

    @field_validator("task")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in TASKS:
            raise ValueError(f"unknown task {value!r}; registered: {', '.join(repr(t) for t in TASKS)}")
        return value

    @field_validator("model_path")
    @classmethod
    def _model_file(cls, value: str | Path | None) -> str | None:
        """A model file that loads, as an absolute path (a run is evaluated from anywhere)."""
        if value is None:
            return None
        load_model(value)  # its ModelFileError names the file and the field at fault
        return str(Path(value).resolve())

    def env_kwargs(self) -> dict[str, Any]:
        kwargs = self.model_dump(exclude={"task", "task_args"})
        kwargs.update(TASK_ARGS[self.task].model_validate(self.task_args).model_dump())
        return kwargs

    @property
    def env_id(self) -> str:
        return ENV_IDS[self.task]

    def final_energy_weight(self) -> float:
        """The reward's energy weight in evaluation: the set one, else the task's default."""
        return TASKS[self.task].default_energy_weight if self.energy_weight is None else self.energy_weight


class PolicyConfig(_Strict):
    net_arch: list[Annotated[int, Field(ge=4, le=1024)]] = Field(
        default_factory=lambda: [64, 64], description="hidden layer sizes of the policy and value networks"
    )
    activation: Literal["tanh", "relu"] = Field("tanh", description="hidden layers' activation function")
    log_std_init: float = Field(0.0, ge=-5.0, le=2.0, description="initial log standard deviation of the actions")
    ortho_init: bool = Field(True, description="orthogonal initialisation (on-policy algorithms)")


_ON = "on-policy (ppo, recurrent_ppo): "
_OFF = "off-policy (sac, td3, tqc): "


class AlgoConfig(_Strict):
    """Hyperparameters (stable-baselines3's names); those that do not apply to the chosen algorithm must
    stay unset, and unset ones take stable-baselines3's defaults."""

    name: Literal["ppo", "sac", "td3", "tqc", "recurrent_ppo"] = Field("ppo", description="the algorithm")
    learning_rate: float = Field(3e-4, gt=0.0, le=1.0, description="optimiser step size")
    gamma: float = Field(0.99, gt=0.0, le=1.0, description="discount factor")
    batch_size: int = Field(64, ge=8, le=65536, description="minibatch size")
    n_steps: int | None = Field(None, ge=8, le=100000, description=_ON + "steps per environment per rollout")
    n_epochs: int | None = Field(None, ge=1, le=100, description=_ON + "passes over each rollout")
    gae_lambda: float | None = Field(None, ge=0.0, le=1.0, description=_ON + "GAE lambda")
    clip_range: float | None = Field(None, gt=0.0, le=1.0, description=_ON + "PPO's clipping range")
    ent_coef: float | None = Field(None, ge=0.0, le=1.0, description=_ON + "entropy bonus weight")
    buffer_size: int | None = Field(None, ge=1000, le=10_000_000, description=_OFF + "replay buffer size")
    learning_starts: int | None = Field(None, ge=0, le=1_000_000, description=_OFF + "steps before learning starts")
    tau: float | None = Field(None, gt=0.0, le=1.0, description=_OFF + "target network update rate")
    train_freq: int | None = Field(None, ge=1, le=10000, description=_OFF + "steps between updates")
    gradient_steps: int | None = Field(None, ge=-1, le=10000, description=_OFF + "gradient steps per update")
    action_noise_std: float | None = Field(None, ge=0.0, le=1.0, description="td3: Gaussian exploration noise")
    policy: PolicyConfig = Field(default_factory=PolicyConfig, description="the networks (`algo.policy`, below)")


class EnergyRamp(_Strict):
    """The reward's energy weight during training: `start_weight` for the first `hold` of the budget,
    then rising linearly over the next `ramp` of it to the environment's `energy_weight` (the task's
    default where that is unset), which holds to the end and in evaluation. The task is learned
    before its energy is made to cost."""

    start_weight: float = Field(ge=0.0, le=ENERGY_WEIGHT_MAX, description="energy weight at the start of training")
    hold: float = Field(ge=0.0, lt=1.0, description="share of the budget trained at `start_weight`")
    ramp: float = Field(ge=0.0, le=1.0, description="share of the budget over which the weight rises")

    @model_validator(mode="after")
    def _within_budget(self) -> EnergyRamp:
        if self.hold + self.ramp > 1.0:
            raise ValueError(f"hold + ramp must be at most 1 (the whole budget), got {self.hold + self.ramp:g}")
        return self

    def weight(self, final: float, progress: float) -> float:
        """The energy weight at `progress` (0-1) of the budget, rising to `final`."""
        if progress < self.hold:
            return self.start_weight
        if self.ramp == 0 or progress >= self.hold + self.ramp:
            return final
        return self.start_weight + (final - self.start_weight) * (progress - self.hold) / self.ramp


class RunConfig(_Strict):
    name: str | None = Field(
        None, pattern=RUN_NAME_PATTERN, description="run folder name (default: task, algorithm, seed)"
    )
    env: EnvConfig = Field(description="the environment: `task`, its arguments and `task_args`")
    algo: AlgoConfig = Field(default_factory=AlgoConfig, description="the algorithm and its hyperparameters (below)")
    n_envs: int = Field(1, ge=1, le=64, description="environments stepped side by side")
    subprocess: bool = Field(False, description="run the environments in subprocesses (faster on 2 cores)")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the learner and the environments")
    total_timesteps: int = Field(10000, ge=100, le=100_000_000, description="training budget in environment steps")
    energy_ramp: EnergyRamp | None = Field(
        None, description="the energy weight's rise during training (`energy_ramp`, below); None: constant"
    )
    normalize: bool = Field(True, description="normalise observations and rewards (VecNormalize)")
    checkpoint_every: int = Field(10000, ge=100, description="environment steps between checkpoints")
    eval_episodes: int = Field(5, ge=1, le=1000, description="deterministic episodes in the evaluation")
    log_every_episodes: int = Field(5, ge=1, le=10000, description="finished episodes averaged per logged row")


def _set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = data
    for k in keys[:-1]:
        child = node.get(k)
        if child is None:
            child = node[k] = {}
        if not isinstance(child, dict):
            raise ConfigError("override", [(dotted, f"{k} is not a section")])
        node = child
    node[keys[-1]] = value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """`a.b=value` pairs; values are YAML scalars/lists (yaml.safe_load), never evaluated code."""
    out = copy.deepcopy(data)
    problems = []
    for item in overrides:
        if "=" not in item:
            problems.append((item, "overrides take the form key.sub=value"))
            continue
        key, raw = item.split("=", 1)
        if not key or any(not part for part in key.split(".")):
            problems.append((item, "empty key"))
            continue
        try:
            value = parse_value(raw) if raw != "" else ""
        except yaml.YAMLError as err:
            problems.append((key, f"value is not valid YAML: {err}"))
            continue
        _set_path(out, key, value)
    if problems:
        raise ConfigError("overrides", problems)
    return out


def _problems(err: ValidationError, prefix: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(".".join(prefix + tuple(str(p) for p in e["loc"])) or "<root>", e["msg"]) for e in err.errors()]


def _inapplicable(algo: Any) -> list[tuple[str, str]]:
    """Hyperparameters set for an algorithm they do not apply to (checked on the raw mapping so
    that it is reported together with every other problem)."""
    if not isinstance(algo, dict):
        return []
    name = algo.get("name", "ppo")
    if name not in ALGORITHMS:
        return []
    wrong = OFF_POLICY_FIELDS if name in ON_POLICY_ALGORITHMS else ON_POLICY_FIELDS
    if name in ("sac", "tqc"):
        wrong = (*wrong, "action_noise_std")
    return [(f"algo.{f}", f"does not apply to {name}") for f in wrong if algo.get(f) is not None]


def validate_config(data: Any, origin: str = "<config>") -> RunConfig:
    """Validate everything and report every problem at once (task arguments included)."""
    if not isinstance(data, dict):
        raise ConfigError(origin, [("<root>", "a config is a mapping of sections (env, algo, ...)")])
    problems: list[tuple[str, str]] = _inapplicable(data.get("algo"))
    env = data.get("env")
    if isinstance(env, dict) and env.get("task") in TASK_ARGS:
        args = env.get("task_args") or {}
        if not isinstance(args, dict):
            problems.append(("env.task_args", "must be a mapping of the task's arguments"))
        else:
            try:
                TASK_ARGS[env["task"]].model_validate(args)
            except ValidationError as err:
                problems += _problems(err, ("env", "task_args"))
    try:
        cfg = RunConfig.model_validate(data)
    except ValidationError as err:
        problems += _problems(err)
        raise ConfigError(origin, problems) from None
    if problems:
        raise ConfigError(origin, problems)
    return cfg


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key given twice in one mapping (PyYAML keeps the last silently) and
    reads YAML 1.2 floats such as `1e-4` as numbers (PyYAML's YAML 1.1 reads them as text)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    "<yaml>", [(str(key), f"given twice (line {key_node.start_mark.line + 1}); keep one")]
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_value(text: str) -> Any:
    """A command-line override's value as YAML data (the loader configs are read with); never code."""
    return yaml.load(text, Loader=_UniqueKeyLoader)


def read_yaml(path: Path) -> Any:
    """A YAML file as data: UTF-8 text, no duplicate keys; every problem a ConfigError naming the file."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        problem = f"not UTF-8 text (byte {err.start}); a config is a YAML file"
        raise ConfigError(str(path), [("<file>", problem)]) from None
    except OSError as err:
        raise ConfigError(str(path), [("<file>", f"cannot be read: {err.strerror}")]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except ConfigError as err:
        raise ConfigError(str(path), err.problems) from None
    except yaml.YAMLError as err:
        raise ConfigError(str(path), [("<file>", f"not valid YAML: {err}")]) from None


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), [("<file>", "not found")])
    data = read_yaml(p) or {}
    if overrides:
        data = apply_overrides(data, overrides)
    return validate_config(data, str(p))


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False)


def packaged_configs() -> list[str]:
    folder = resources.files("neuroleg").joinpath("configs")
    return sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".yaml"))


def resolve_config(name: str) -> Path:
    """A config file, or the name of a packaged config (e.g. `hop_ppo`).

    Anything with a folder separator or a suffix is a path and must be an existing file: a typo in
    `myconfs/hop_ppo.yaml` is an error, never the packaged `hop_ppo`. Only a bare name (no separator,
    no suffix) names a packaged config."""
    p = Path(name)
    is_path = "/" in name or os.sep in name or p.suffix != ""
    if is_path:
        if p.is_file():
            return p
        what = "is a folder, not a config file" if p.is_dir() else "no such file"
        raise ConfigError(name, [("<file>", f"{what} (a bare name such as hop_ppo names a packaged config)")])
    packaged = resources.files("neuroleg").joinpath(f"configs/{name}.yaml")
    if packaged.is_file():
        return Path(str(packaged))
    raise ConfigError(name, [("<file>", f"no packaged config of that name; packaged: {packaged_configs()}")])
