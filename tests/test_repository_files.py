"""The repository's own files: CI workflows, licence, citation, Binder configuration.

No network: every check reads files in the repository and compares them with each other
(pyproject.toml is the reference for the licence, version and Python versions).
"""

from __future__ import annotations

import datetime
import re
import tomllib
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

# PyYAML comes with the book's requirements (jupyter-book); a venv with only the
# library's test dependencies skips this file instead of failing to collect it.
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
WRITE_SCOPES = ("pages", "id-token")
# What only the book's build needs; Binder runs the chapters without it.
BOOK_BUILD_TOOLS = re.compile(r"jupyter[-_.]?book|sphinx|myst", re.IGNORECASE)
REQUIREMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def load_workflow(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def triggers(workflow: dict) -> dict:
    # YAML 1.1 reads the bare key `on` as the boolean True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    return on or {}


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def uses(step: dict, action: str) -> bool:
    return step.get("uses", "").split("@")[0] == action


def condition(value) -> str:
    """An `if:` or other expression without its optional ${{ }} wrapper."""
    text = str(value).strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    return (match.group(1) if match else text).strip()


def cancels_on_main(concurrency) -> bool:
    """Whether a concurrency setting may cancel a run of refs/heads/main in progress.

    Understood: absent, a plain group name, a boolean, or the expression
    `github.ref != 'refs/heads/main'`; anything else counts as cancelling.
    """
    if concurrency is None or isinstance(concurrency, str):
        return False
    cancel = concurrency.get("cancel-in-progress", False)
    if isinstance(cancel, bool):
        return cancel
    return not re.fullmatch(r"github\.ref\s*!=\s*'refs/heads/main'", condition(cancel))


def grants_write(permissions) -> set[str]:
    if permissions == "write-all":
        return set(WRITE_SCOPES)
    if not isinstance(permissions, dict):
        return set()
    return {scope for scope in WRITE_SCOPES if permissions.get(scope) == "write"}


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def extras_of_local_install(line: str) -> list[str] | None:
    """The extras of a line installing the repository itself (`.`, `.[a,b]`, `-e .`)."""
    match = re.fullmatch(r"(?:(?:-e|--editable)\s+)?\.(?:\[([^\]]*)\])?", line)
    if match is None:
        return None
    return [extra.strip() for extra in (match.group(1) or "").split(",") if extra.strip()]


# ---------------------------------------------------------------- the helpers above


def test_helpers_read_what_the_checks_rely_on():
    assert triggers(yaml.safe_load("on: [push, pull_request]")) == {
        "push": None,
        "pull_request": None,
    }
    assert triggers(yaml.safe_load("on: push")) == {"push": None}
    assert cancels_on_main({"group": "g", "cancel-in-progress": True})
    assert cancels_on_main({"group": "g", "cancel-in-progress": "${{ github.ref == 'x' }}"})
    assert not cancels_on_main({"group": "g", "cancel-in-progress": False})
    assert not cancels_on_main(
        {"group": "g", "cancel-in-progress": "${{ github.ref != 'refs/heads/main' }}"}
    )
    assert grants_write("write-all") == {"pages", "id-token"}
    assert grants_write({"contents": "read", "pages": "write"}) == {"pages"}
    assert extras_of_local_install(".[book]") == ["book"]
    assert extras_of_local_install("-e .[a, b]") == ["a", "b"]
    assert extras_of_local_install(".") == []
    assert extras_of_local_install("numpy>=1.26") is None


# ---------------------------------------------------------------- every workflow


def test_there_are_workflows():
    names = {path.name for path in WORKFLOW_FILES}
    assert {"ci.yml", "pages.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_workflow_parses_and_is_read_only_by_default(path):
    workflow = load_workflow(path)
    assert isinstance(workflow, dict), f"{path.name} is not a YAML mapping"
    assert triggers(workflow), f"{path.name} has no `on:` triggers"
    assert workflow.get("jobs"), f"{path.name} has no jobs"
    assert workflow.get("permissions") == {"contents": "read"}, (
        f"{path.name}: the workflow's default token must be `contents: read`"
    )


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_every_job_has_a_timeout(path):
    for name, job in load_workflow(path)["jobs"].items():
        minutes = job.get("timeout-minutes")
        assert isinstance(minutes, int), f"{path.name}: job {name} has no timeout-minutes"
        assert 0 < minutes <= 60, f"{path.name}: job {name} may run {minutes} minutes"


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_setup_python_caches_pip_keyed_on_the_requirements(path):
    for name, job in load_workflow(path)["jobs"].items():
        for step in steps(job):
            if not uses(step, "actions/setup-python"):
                continue
            options = step.get("with", {})
            assert options.get("cache") == "pip", f"{path.name}: job {name} does not cache pip"
            patterns = str(options.get("cache-dependency-path", "")).split()
            assert patterns, f"{path.name}: job {name} has no cache-dependency-path"
            keyed = {match.name for pattern in patterns for match in ROOT.glob(pattern)}
            for pattern in patterns:
                assert list(ROOT.glob(pattern)), f"{path.name}: {pattern!r} matches no file"
            assert {"requirements.txt", "requirements-dev.txt"} <= keyed, (
                f"{path.name}: job {name}'s pip cache ignores a requirements file"
            )


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=lambda path: path.name)
def test_python_versions_in_workflows_are_ones_the_project_supports(path):
    allowed = SpecifierSet(PROJECT["requires-python"])
    workflow = load_workflow(path)
    for name, job in workflow["jobs"].items():
        include = job.get("strategy", {}).get("matrix", {}).get("include", [])
        versions = [entry["python"] for entry in include if "python" in entry]
        for step in steps(job):
            if uses(step, "actions/setup-python"):
                version = str(step.get("with", {}).get("python-version", ""))
                if "matrix." not in version:
                    versions.append(version)
        for version in versions:
            assert str(version) in allowed, f"{path.name}: job {name} uses Python {version}"


def test_only_the_deploy_job_may_write_to_pages():
    for path in WORKFLOW_FILES:
        workflow = load_workflow(path)
        assert not grants_write(workflow.get("permissions")), (
            f"{path.name}: Pages/OIDC write granted to the whole workflow"
        )
        for name, job in workflow["jobs"].items():
            granted = grants_write(job.get("permissions"))
            if path.name == "pages.yml" and name == "deploy":
                assert granted == set(WRITE_SCOPES), "the deploy job lacks pages/id-token write"
            else:
                assert not granted, f"{path.name}: job {name} may write {sorted(granted)}"


# ---------------------------------------------------------------- pages.yml


def pages() -> dict:
    return load_workflow(WORKFLOWS / "pages.yml")


def test_pages_keeps_the_screenshots_when_the_check_fails():
    uploads = [
        step
        for step in steps(pages()["jobs"]["build"])
        if uses(step, "actions/upload-artifact")
        and "screenshots" in str(step.get("with", {}).get("path", ""))
    ]
    assert len(uploads) == 1, "one upload of _build/screenshots/"
    assert condition(uploads[0].get("if", "")) == "always()"


def test_pages_deploys_only_main_after_the_build():
    deploy = pages()["jobs"]["deploy"]
    assert "build" in ([deploy["needs"]] if isinstance(deploy["needs"], str) else deploy["needs"])
    assert "github.ref == 'refs/heads/main'" in condition(deploy["if"])
    assert "github.event_name != 'pull_request'" in condition(deploy["if"])
    assert any(uses(step, "actions/deploy-pages") for step in steps(deploy))


def test_a_deployment_of_main_is_never_cancelled():
    workflow = pages()
    assert not cancels_on_main(workflow.get("concurrency"))
    assert not cancels_on_main(workflow["jobs"]["deploy"].get("concurrency"))


def test_pages_still_cancels_superseded_pull_request_builds():
    concurrency = pages()["concurrency"]
    assert "github.ref" in concurrency["group"]
    # True, or an expression that is true off main: anything but a plain `false`
    assert concurrency["cancel-in-progress"] is not False


# ---------------------------------------------------------------- ci.yml


def ci() -> dict:
    return load_workflow(WORKFLOWS / "ci.yml")


def run_lines(job: dict) -> list[str]:
    return [line.strip() for step in steps(job) for line in str(step.get("run", "")).splitlines()]


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, re.MULTILINE))


def test_ci_runs_on_pushes_and_pull_requests():
    assert {"push", "pull_request"} <= set(triggers(ci()))


def test_ci_cancels_superseded_runs_of_the_same_branch_or_pr():
    concurrency = ci()["concurrency"]
    assert concurrency["cancel-in-progress"] is True
    assert "github.ref" in concurrency["group"]
    assert "pull_request.number" in concurrency["group"]


def test_ci_checks_lint_unit_nbval_and_other_cpu_on_python_311():
    jobs = [
        job
        for job in ci()["jobs"].values()
        if any(
            uses(step, "actions/setup-python")
            and str(step.get("with", {}).get("python-version")) == "3.11"
            for step in steps(job)
        )
    ]
    commands = {line for job in jobs for line in run_lines(job)}
    for target in ("lint", "unit", "nbval", "other-cpu"):
        assert f"make {target}" in commands, f"no Python 3.11 job runs make {target}"


def test_ci_matrix_runs_floors_and_newest():
    compat = [job for job in ci()["jobs"].values() if "strategy" in job]
    assert len(compat) == 1
    job = compat[0]
    include = job["strategy"]["matrix"]["include"]
    assert {"target": "floors", "python": "3.11"} in include
    assert {"target": "newest", "python": "3.13"} in include
    assert job["strategy"].get("fail-fast") is False, "one failing target hides the other"
    setup = [step for step in steps(job) if uses(step, "actions/setup-python")]
    assert [condition(step["with"]["python-version"]) for step in setup] == ["matrix.python"]
    assert "make ${{ matrix.target }} FLOORS_PYTHON=python NEWEST_PYTHON=python" in run_lines(job)


def test_every_make_target_a_workflow_calls_exists():
    targets = makefile_targets()
    called = set()
    for path in WORKFLOW_FILES:
        workflow = load_workflow(path)
        for job in workflow["jobs"].values():
            matrix = job.get("strategy", {}).get("matrix", {}).get("include", [])
            for line in run_lines(job):
                for word in re.findall(r"\bmake\s+(\$\{\{[^}]*\}\}|[\w-]+)", line):
                    if "matrix.target" in word:
                        called |= {entry["target"] for entry in matrix}
                    else:
                        called.add(word)
    assert called, "no workflow calls make"
    assert called <= targets, f"the Makefile has no target {sorted(called - targets)}"


# ---------------------------------------------------------------- licence and citation


def test_license_is_mit_as_pyproject_says():
    text = (ROOT / "LICENSE").read_text()
    assert PROJECT["license"] == "MIT"
    assert text.splitlines()[0] == "MIT License"
    assert "Copyright (c) 2026 The Training Neural Networks authors" in text
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text


def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def test_citation_matches_the_project():
    cff = citation()
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software"
    assert cff["version"] == PROJECT["version"]
    assert cff["license"] == PROJECT["license"]
    book = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cff["title"] == book["title"] == "Training Neural Networks: Optimization, Executed"
    assert datetime.date.fromisoformat(str(cff["date-released"])) == datetime.date(2026, 12, 7)
    assert cff["authors"] == [{"name": "The Training Neural Networks authors"}]
    assert cff["message"]


def test_citation_names_no_web_address():
    text = (ROOT / "CITATION.cff").read_text()
    assert not re.search(r"https?://|www\.|\.org\b|\.com\b|\.io\b", text, re.IGNORECASE)
    assert not {"url", "repository", "repository-code", "repository-artifact"} & set(citation())


# ---------------------------------------------------------------- Binder


def test_binder_runtime_is_a_python_the_project_supports():
    runtime = (ROOT / "binder" / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(\d+\.\d+)", runtime)
    assert match, f"binder/runtime.txt should read python-X.Y, not {runtime!r}"
    assert match.group(1) in SpecifierSet(PROJECT["requires-python"])


def test_binder_installs_the_repository_with_its_book_extra_and_no_build_tools():
    lines = requirement_lines(ROOT / "binder" / "requirements.txt")
    for line in lines:
        assert not BOOK_BUILD_TOOLS.search(line), f"binder installs a book-build tool: {line}"
    local = [extras for line in lines if (extras := extras_of_local_install(line)) is not None]
    assert local == [["book"]], "binder/requirements.txt should install `.[book]` once"
    extras = PROJECT.get("optional-dependencies", {})
    assert "book" in extras, "pyproject.toml has no `book` extra for binder/requirements.txt"
    names = set()
    for requirement in extras["book"]:
        assert not BOOK_BUILD_TOOLS.search(requirement), f"the book extra pulls {requirement}"
        names.add(canonicalize_name(REQUIREMENT_NAME.match(requirement).group()))
    assert {"matplotlib", "ipywidgets"} <= names
